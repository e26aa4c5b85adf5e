/* The project's mbedTLS patch (config/mbedtls-patches/0002): after the handshake a client's
 * input buffer rests small, and grows when a record larger than it arrives, so that every
 * record a server may send is still read whole; its output buffer rests small and bounds the
 * records it writes; a TLS 1.3 client frees its handshake
 * parameters and still reads past the server's NewSessionTicket. Client and server run over
 * memory pipes. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS /* in_buf_len: the size under test */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/ssl_ticket.h>

#include "tls_pair.h"

static tls_identity_t id;
static mbedtls_ssl_ticket_context tickets; /* the server sends one after each handshake */

typedef struct {
    mbedtls_ssl_config ccfg, scfg;
    mbedtls_ssl_context cl, sv;
    tls_pipe_t to_server, to_client;
    tls_duplex_t cio, sio;
} pair_t;

static void pair_open(pair_t *p, mbedtls_ssl_protocol_version version) {
    memset(p, 0, sizeof(*p));
    mbedtls_ssl_config_init(&p->ccfg);
    mbedtls_ssl_config_init(&p->scfg);
    tls_pair_check(mbedtls_ssl_config_defaults(&p->ccfg, MBEDTLS_SSL_IS_CLIENT,
                                               MBEDTLS_SSL_TRANSPORT_STREAM,
                                               MBEDTLS_SSL_PRESET_DEFAULT),
                   "client config");
    tls_pair_check(mbedtls_ssl_config_defaults(&p->scfg, MBEDTLS_SSL_IS_SERVER,
                                               MBEDTLS_SSL_TRANSPORT_STREAM,
                                               MBEDTLS_SSL_PRESET_DEFAULT),
                   "server config");
    mbedtls_ssl_config *cfgs[2] = {&p->ccfg, &p->scfg};
    for (int i = 0; i < 2; i++) {
        mbedtls_ssl_conf_rng(cfgs[i], mbedtls_ctr_drbg_random, tls_pair_drbg());
        mbedtls_ssl_conf_min_tls_version(cfgs[i], version);
        mbedtls_ssl_conf_max_tls_version(cfgs[i], version);
    }
    mbedtls_ssl_conf_authmode(&p->ccfg, MBEDTLS_SSL_VERIFY_NONE);
    tls_pair_check(mbedtls_ssl_conf_own_cert(&p->scfg, &id.crt, &id.key), "own_cert");
    mbedtls_ssl_conf_session_tickets_cb(&p->scfg, mbedtls_ssl_ticket_write,
                                        mbedtls_ssl_ticket_parse, &tickets);
    p->cio = (tls_duplex_t){&p->to_server, &p->to_client};
    p->sio = (tls_duplex_t){&p->to_client, &p->to_server};
    mbedtls_ssl_init(&p->cl);
    mbedtls_ssl_init(&p->sv);
    tls_pair_check(mbedtls_ssl_setup(&p->cl, &p->ccfg), "client setup");
    tls_pair_check(mbedtls_ssl_setup(&p->sv, &p->scfg), "server setup");
    tls_pair_check(mbedtls_ssl_set_hostname(&p->cl, "mx.test.example"), "hostname");
    mbedtls_ssl_set_bio(&p->cl, &p->cio, tls_pair_send, tls_pair_recv, NULL);
    mbedtls_ssl_set_bio(&p->sv, &p->sio, tls_pair_send, tls_pair_recv, NULL);
    tls_pair_handshake(&p->cl, &p->sv);
}

static void pair_close(pair_t *p) {
    mbedtls_ssl_free(&p->cl);
    mbedtls_ssl_free(&p->sv);
    mbedtls_ssl_config_free(&p->ccfg);
    mbedtls_ssl_config_free(&p->scfg);
}

/* FROM sends LEN bytes (writes as large as it takes); TO reads until it has them all. */
static void transfer(mbedtls_ssl_context *from, mbedtls_ssl_context *to, size_t len) {
    static unsigned char msg[16384], got[16384];
    assert_true(len <= sizeof(msg));
    for (size_t i = 0; i < len; i++)
        msg[i] = (unsigned char)(i * 7 + len);
    size_t sent = 0, have = 0;
    for (int rounds = 0; have < len; rounds++) {
        assert_true(rounds < 1000);
        if (sent < len) {
            int rc = mbedtls_ssl_write(from, msg + sent, len - sent);
            if (rc > 0)
                sent += (size_t)rc;
            else
                assert_int_equal(rc, MBEDTLS_ERR_SSL_WANT_WRITE);
        }
        int rc = mbedtls_ssl_read(to, got + have, sizeof(got) - have);
        if (rc > 0)
            have += (size_t)rc;
        else if (rc != MBEDTLS_ERR_SSL_WANT_READ)
            fail_msg("read: -0x%04x", (unsigned)-rc); /* a ticket is read on the way */
    }
    assert_int_equal(have, len);
    assert_memory_equal(got, msg, len);
}

static void rests_and_grows(mbedtls_ssl_protocol_version version) {
    pair_t p;
    pair_open(&p, version);
    size_t resting = p.cl.in_buf_len;
    /* At rest after the handshake: far below the 16 KiB a record may need. */
    assert_true(resting < 4096);
    assert_null(p.cl.handshake);
    if (version == MBEDTLS_SSL_VERSION_TLS1_3) /* the ticket waits for the client's next read */
        assert_true(p.to_client.len > p.to_client.head);
    transfer(&p.sv, &p.cl, 300); /* an SMTP reply fits */
    assert_int_equal(p.cl.in_buf_len, resting);
    /* A record larger than the resting buffer (the server's records carry up to 4 KiB in this
     * configuration): the buffer grows and the bytes arrive intact, in order. */
    transfer(&p.sv, &p.cl, 4000);
    assert_true(p.cl.in_buf_len > resting);
    transfer(&p.sv, &p.cl, 12000);
    transfer(&p.sv, &p.cl, 20);
    /* The client's output buffer rests too: a longer message goes out in several records. */
    size_t out_resting = p.cl.out_buf_len;
    assert_true(out_resting < 2048);
    assert_true(mbedtls_ssl_get_max_out_record_payload(&p.cl) < 2048);
    transfer(&p.cl, &p.sv, 5000);
    assert_int_equal(p.cl.out_buf_len, out_resting);
    pair_close(&p);
}

static void test_tls13(void **state) {
    (void)state;
    rests_and_grows(MBEDTLS_SSL_VERSION_TLS1_3);
}

static void test_tls12(void **state) {
    (void)state;
    rests_and_grows(MBEDTLS_SSL_VERSION_TLS1_2);
}

int main(void) {
    tls_identity_make(&id, 1, "mx.test.example");
    mbedtls_ssl_ticket_init(&tickets);
    tls_pair_check(mbedtls_ssl_ticket_setup(&tickets, mbedtls_ctr_drbg_random, tls_pair_drbg(),
                                            MBEDTLS_CIPHER_AES_256_GCM, 86400),
                   "ticket setup");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tls13), cmocka_unit_test(test_tls12)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
