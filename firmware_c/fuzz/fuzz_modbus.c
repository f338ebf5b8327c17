/* libFuzzer target: random bytes into the board's Modbus RTU slave, built with
 * -fsanitize=fuzzer,address,undefined. Each input is cut into frames (first byte: how
 * many bytes the next frame takes), and every frame goes through both entry points: the
 * whole-frame call and the byte-wise UART path with t3.5 timing. Beyond the sanitizers'
 * checks it asserts the slave's contract: an answer is a well-formed RTU frame with a good
 * CRC from this slave, never longer than the buffer, and the board's psi stays within its
 * limits after whatever the frames wrote. Run: python -m host_tools fuzz --seconds N. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "edge_core.h"

static void check_answer(const edge_mb_t *mb, uint16_t n)
{
    uint16_t crc;
    if (n == 0u) {
        return;
    }
    if (n < 5u || n > sizeof mb->tx || mb->tx[0] != mb->address) {
        abort();
    }
    crc = edge_mb_crc16(mb->tx, (uint16_t)(n - 2u));
    if (mb->tx[n - 2u] != (uint8_t)(crc & 0xFFu) || mb->tx[n - 1u] != (uint8_t)(crc >> 8)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static edge_sim_params_t p;
    static edge_sim_state_t s;
    static edge_mb_t mb;
    static edge_dev_t dev;
    size_t at = 0u;
    uint32_t now_us = 0u;

    edge_sim_defaults(&p);
    p.n_units = 1u;
    edge_sim_init(&p, &s, 0.5f, 0.5f);
    edge_mb_init(&mb, 1u, 115200u);
    dev.board_id = 1u;
    dev.fw_version = 0x0100u;
    dev.params = &p.unit[0].board;
    dev.state = &s.unit[0].board;
    dev.meas = &s.unit[0].meas;
    dev.cmd = 0u;
    dev.i_ref_mA = 0;
    dev.v_ref_mV = 0u;
    dev.p_ref_dW = 0;
    dev.protocol_chem = 0u;
    dev.clear_result = 0u;
    dev.refreshes = 0u;

    while (at < size) {
        size_t len = data[at++];
        size_t k;
        if (len > size - at) {
            len = size - at;
        }
        check_answer(&mb, edge_mb_frame(&mb, &dev, data + at, (uint16_t)len));
        for (k = 0u; k < len; k++) {
            edge_mb_rx_byte(&mb, data[at + k], now_us);
            now_us += 87u;  /* one character at 115200 baud */
        }
        now_us += 1750u;
        check_answer(&mb, edge_mb_poll(&mb, &dev, now_us));
        at += len;
        edge_sim_run(&p, &s, 10u, (float *)0, (float *)0);
        if (!(s.unit[0].psi_applied_rad <= p.unit[0].board.dab.psi_max_rad &&
              s.unit[0].psi_applied_rad >= -p.unit[0].board.dab.psi_max_rad)) {
            abort();
        }
    }
    return 0;
}
