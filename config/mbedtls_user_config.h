/* mxtls's additions to mbedTLS 3.6's default configuration (MBEDTLS_USER_CONFIG_FILE).
 *
 * A survey client makes hundreds of thousands of handshakes and holds tens of thousands of
 * connections, so the choices here are about CPU per handshake and bytes per connection.
 * The server side stays: the handshake benchmark runs a client against an in-memory server. */

/* Curve arithmetic (X25519, P-256, P-384) goes to Nettle through patch 0004's hooks
 * (src/tls/fast_ec.c), in TLS 1.2's ECDH module and TLS 1.3's PSA key exchange alike. Everest's
 * X25519, which only the ECDH module reaches, is left out: through the hook, a TLS 1.2 client
 * handshake costs 0.28 ms against Everest's 0.47 (bench/RESULTS.md). TLS keeps the legacy
 * crypto front end: its ECDH, ECDSA and X.509 code reach the hooks directly. */
#undef MBEDTLS_USE_PSA_CRYPTO

/* Buffers sized to the records actually seen; a client sends little, so 4 KiB of output is
 * plenty, while input must stay at 16 KiB because servers send full-size records. */
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

/* A mail survey never speaks DTLS. */
#undef MBEDTLS_SSL_PROTO_DTLS
#undef MBEDTLS_SSL_DTLS_ANTI_REPLAY
#undef MBEDTLS_SSL_DTLS_HELLO_VERIFY
#undef MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE
#undef MBEDTLS_SSL_DTLS_CONNECTION_ID
#undef MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT
#undef MBEDTLS_SSL_COOKIE_C

/* The scan runs one worker thread per core, each with its own TLS configuration and random
 * generator; TLS 1.3 keys live in PSA's global key store, which needs the library's mutexes. */
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD
