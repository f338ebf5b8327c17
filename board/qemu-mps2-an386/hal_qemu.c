/* HAL backend for QEMU's mps2-an386: CMSDK APB UART0, SysTick as the 1 kHz control tick
 * and the microsecond clock, ARM semihosting for the log and the exit code. The power
 * stage is the C plant model (main.c), so the ADC/PWM functions here are not used.
 * Register facts: ARM CMSDK APB UART (DDI 0479), ARMv7-M ARM (SysTick, semihosting). */
#include "hal.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x000u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x004u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x008u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x010u))
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#define SYSCLK_HZ 25000000u
#define TICK_HZ 1000u

static volatile uint32_t ms_ticks;

/* Called from SysTick_Handler in main.c. */
void hal_qemu_tick(void)
{
    ms_ticks++;
}

void hal_init(void)
{
    UART_BAUDDIV = SYSCLK_HZ / 115200u;
    UART_CTRL = 0x3u;  /* TX and RX enabled, no interrupts: the main loop polls */
    SYST_RVR = SYSCLK_HZ / TICK_HZ - 1u;
    SYST_CVR = 0u;
    SYST_CSR = 0x7u;   /* processor clock, interrupt, enable */
}

uint32_t hal_time_us(void)
{
    uint32_t ms;
    uint32_t cvr;
    do {
        ms = ms_ticks;
        cvr = SYST_CVR;
    } while (ms != ms_ticks);
    return ms * 1000u + (SYST_RVR - cvr) / (SYSCLK_HZ / 1000000u);
}

int hal_uart_getc(void)
{
    if (UART_STATE & UART_STATE_RX_FULL) {
        return (int)(UART_DATA & 0xFFu);
    }
    return -1;
}

void hal_uart_write(const uint8_t *data, uint16_t len)
{
    uint16_t k;
    for (k = 0u; k < len; k++) {
        while (UART_STATE & UART_STATE_TX_FULL) {
        }
        UART_DATA = data[k];
    }
}

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void hal_log(const char *text)
{
    (void)semihost(0x04, text);     /* SYS_WRITE0 */
    (void)semihost(0x04, "\n");
}

void hal_exit(int code)
{
    /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit with the exit code. */
    static uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    (void)semihost(0x20, block);
    for (;;) {
    }
}

void hal_adc_read(edge_meas_t *m) { (void)m; }
void hal_pwm_set_psi(float psi_rad) { (void)psi_rad; }
void hal_pwm_trip(void) {}
void hal_contactor(uint8_t closed) { (void)closed; }
