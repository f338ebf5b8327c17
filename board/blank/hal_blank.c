/* A HAL that does nothing: links the firmware glue for compile checks on any compiler. */
#include "hal.h"

void hal_init(void) {}
uint32_t hal_time_us(void) { return 0u; }
int hal_uart_getc(void) { return -1; }
void hal_uart_write(const uint8_t *data, uint16_t len) { (void)data; (void)len; }
void hal_log(const char *text) { (void)text; }
uint32_t hal_irq_save(void) { return 0u; }
void hal_irq_restore(uint32_t state) { (void)state; }
void hal_exit(int code) { (void)code; }
void hal_adc_read(edge_meas_t *m) { (void)m; }
void hal_pwm_set_psi(float psi_rad) { (void)psi_rad; }
void hal_pwm_trip(void) {}
void hal_contactor(uint8_t closed) { (void)closed; }
