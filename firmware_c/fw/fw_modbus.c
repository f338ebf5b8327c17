/* The UART side of the board's Modbus slave, for every board: received bytes go to the
 * slave with their time, and an answer goes out once 3.5 character times of silence
 * have ended the frame. The slave itself is firmware_c/src/modbus.c. A frame with a
 * user-defined function code (Modbus: 100-110) for this slave goes to `user` instead. */
#include "fw.h"

static int is_user_frame(const edge_mb_t *mb)
{
    uint16_t n = mb->rx_len;
    uint8_t fc;
    if (n < 4u || mb->rx_overflow || (mb->rx[0] != mb->address)) {
        return 0;
    }
    fc = mb->rx[1];
    return fc >= 100u && fc <= 110u &&
           edge_mb_crc16(mb->rx, (uint16_t)(n - 2u)) ==
               (uint16_t)(mb->rx[n - 2u] | (uint16_t)(mb->rx[n - 1u] << 8));
}

uint16_t edge_fw_modbus_poll(edge_mb_t *mb, edge_dev_t *dev, edge_fw_user_fn user)
{
    int c;
    uint16_t n;
    uint32_t now;
    while ((c = hal_uart_getc()) >= 0) {
        edge_mb_rx_byte(mb, (uint8_t)c, hal_time_us());
    }
    now = hal_time_us();
    if (user != (edge_fw_user_fn)0 && mb->rx_len > 0u &&
        now - mb->last_rx_us >= edge_mb_t35_us(mb) && is_user_frame(mb)) {
        n = user(mb->rx, (uint16_t)(mb->rx_len - 2u), mb->tx);
        mb->rx_len = 0u;
    } else {
        uint32_t irq = hal_irq_save();  /* a write lands between two control steps */
        n = edge_mb_poll(mb, dev, now);
        hal_irq_restore(irq);
    }
    if (n > 0u) {
        hal_uart_write(mb->tx, n);
    }
    return n;
}
