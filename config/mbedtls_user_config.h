/* mxtls's additions to mbedTLS 3.6's default configuration (MBEDTLS_USER_CONFIG_FILE).
 *
 * A survey client makes hundreds of thousands of handshakes and holds tens of thousands of
 * connections, so the choices here are about CPU per handshake and bytes per connection.
 * The server side stays: the handshake benchmark runs a client against an in-memory server. */

/* Everest's X25519 is several times faster than the generic ECP code (measured in DESIGN.md). */
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED

/* With PSA as the crypto front end, TLS 1.2 ECDHE goes through PSA and bypasses Everest. */
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
