/* hal.h: the only way the firmware reaches hardware (a link-time seam). Each board folder
 * (board/<name>/) provides one backend; board/blank has one that does nothing, for
 * compile checks. Units are in the names; current and power + = into the string. */
#ifndef EDGE_HAL_H
#define EDGE_HAL_H

#include <stdint.h>

#include "edge_core.h"

void hal_init(void);
uint32_t hal_time_us(void);               /* free-running, wraps */
int hal_uart_getc(void);                  /* next received byte, or -1 */
void hal_uart_write(const uint8_t *data, uint16_t len);
void hal_log(const char *text);           /* a line for the developer (semihosting, SWO) */
uint32_t hal_irq_save(void);             /* interrupts off; returns the previous state */
void hal_irq_restore(uint32_t state);
void hal_exit(int code);                  /* end of a test run; a real board resets */

/* The power stage. */
void hal_adc_read(edge_meas_t *m);        /* the latest synchronised sample */
void hal_pwm_set_psi(float psi_rad);      /* takes effect at the next switching period */
void hal_pwm_trip(void);                  /* gates off now, ahead of the shadow registers */
void hal_contactor(uint8_t closed);

#endif /* EDGE_HAL_H */
