/* HAL backend for the g474-dab board (STM32G474, 170 MHz), register level, no CMSIS.
 *
 * Source: ST RM0440 rev 8 (register maps of RCC §7.4, GPIO §9.4, ADC §21.7, COMP §24.6,
 * HRTIM §27.5, TIM6 §31.4, USART §37.8, NVIC in PM0214) and pins.csv. This backend compiles
 * with -Werror but has NOT been run on hardware: verify every register use against the
 * reference manual and the schematic, with the bridge unpowered, before the first run.
 *
 * Phase-shift PWM: HRTIM1 at 170 MHz x 32 (DLL) = 5.44 GHz, 184 ps per count. The master
 * timer sets the 100 kHz period (54400 counts); timer A drives the primary bridge from the
 * master period, timer B the secondary bridge from master compare 1, so compare 1 is the
 * phase shift psi. Dead time on both. COMP1 (string current) trips both timers through
 * fault input 1 in hardware, ahead of the firmware (safety layer 1 of ARCHITECTURE.md).
 * ADC1 converts the four inputs as an injected sequence on HRTIM ADC trigger 1, mid-period
 * (each result keeps its own JDRx register); its end-of-sequence interrupt runs the
 * control step (main.c). */
#include "hal.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* RCC */
#define RCC_BASE 0x40021000u
#define RCC_AHB2ENR REG(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 REG(RCC_BASE + 0x58u)
#define RCC_APB2ENR REG(RCC_BASE + 0x60u)
#define RCC_AHB2ENR_GPIOAEN (1u << 0)
#define RCC_AHB2ENR_GPIOBEN (1u << 1)
#define RCC_AHB2ENR_ADC12EN (1u << 13)
#define RCC_APB1ENR1_TIM6EN (1u << 4)
#define RCC_APB2ENR_SYSCFGEN (1u << 0)
#define RCC_APB2ENR_USART1EN (1u << 14)
#define RCC_APB2ENR_HRTIM1EN (1u << 26)

/* GPIO */
#define GPIOA_BASE 0x48000000u
#define GPIOB_BASE 0x48000400u
#define GPIO_MODER(b) REG((b) + 0x00u)
#define GPIO_OSPEEDR(b) REG((b) + 0x08u)
#define GPIO_BSRR(b) REG((b) + 0x18u)
#define GPIO_AFRL(b) REG((b) + 0x20u)
#define GPIO_AFRH(b) REG((b) + 0x24u)

/* USART1 */
#define USART1_BASE 0x40013800u
#define USART_CR1 REG(USART1_BASE + 0x00u)
#define USART_BRR REG(USART1_BASE + 0x0Cu)
#define USART_ISR REG(USART1_BASE + 0x1Cu)
#define USART_ICR REG(USART1_BASE + 0x20u)
#define USART_RDR REG(USART1_BASE + 0x24u)
#define USART_TDR REG(USART1_BASE + 0x28u)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TC (1u << 6)
#define USART_ISR_TXE (1u << 7)
#define USART_ISR_ORE (1u << 3)

/* HRTIM1: master at +0x000, timer A at +0x080, timer B at +0x100, common at +0x380 */
#define HRTIM_BASE 0x40016800u
#define HR_MCR REG(HRTIM_BASE + 0x000u)
#define HR_MPER REG(HRTIM_BASE + 0x014u)
#define HR_MCMP1R REG(HRTIM_BASE + 0x01Cu)
#define HR_TIM(x) (HRTIM_BASE + 0x080u * (x))  /* x = 1 (A), 2 (B) */
#define HR_TIMxCR(x) REG(HR_TIM(x) + 0x00u)
#define HR_PERxR(x) REG(HR_TIM(x) + 0x14u)
#define HR_CMP1xR(x) REG(HR_TIM(x) + 0x1Cu)
#define HR_DTxR(x) REG(HR_TIM(x) + 0x38u)
#define HR_SETx1R(x) REG(HR_TIM(x) + 0x3Cu)
#define HR_RSTx1R(x) REG(HR_TIM(x) + 0x40u)
#define HR_RSTxR(x) REG(HR_TIM(x) + 0x54u)
#define HR_OUTxR(x) REG(HR_TIM(x) + 0x64u)
#define HR_FLTxR(x) REG(HR_TIM(x) + 0x68u)
#define HR_CR2 REG(HRTIM_BASE + 0x384u)
#define HR_OENR REG(HRTIM_BASE + 0x394u)
#define HR_ODISR REG(HRTIM_BASE + 0x398u)
#define HR_ADC1R REG(HRTIM_BASE + 0x3BCu)
#define HR_DLLCR REG(HRTIM_BASE + 0x3CCu)
#define HR_FLTINR1 REG(HRTIM_BASE + 0x3D0u)
#define HR_ISR REG(HRTIM_BASE + 0x388u)
#define HR_PERIOD 54400u      /* 170 MHz x 32 / 100 kHz */
#define HR_DEADTIME 0x00000040u  /* rising and falling dead time, ~80 ns (check the gate driver) */
#define HR_OUT_TA_ALL 0x3u    /* TA1, TA2 */
#define HR_OUT_TB_ALL 0xCu    /* TB1, TB2 */

/* ADC1 */
#define ADC1_BASE 0x50000000u
#define ADC_ISR REG(ADC1_BASE + 0x00u)
#define ADC_IER REG(ADC1_BASE + 0x04u)
#define ADC_CR REG(ADC1_BASE + 0x08u)
#define ADC_JSQR REG(ADC1_BASE + 0x4Cu)
#define ADC_JDR(n) REG(ADC1_BASE + 0x80u + 4u * (n))  /* n = 0..3: JDR1..JDR4 */
#define ADC_ISR_JEOS (1u << 6)

/* COMP1 */
#define COMP1_CSR REG(0x40010200u)

/* TIM6: the 1 kHz slow tick */
#define TIM6_BASE 0x40001000u
#define TIM6_CR1 REG(TIM6_BASE + 0x00u)
#define TIM6_DIER REG(TIM6_BASE + 0x0Cu)
#define TIM6_SR REG(TIM6_BASE + 0x10u)
#define TIM6_PSC REG(TIM6_BASE + 0x28u)
#define TIM6_ARR REG(TIM6_BASE + 0x2Cu)

/* Cortex-M4 */
#define NVIC_ISER(n) REG(0xE000E100u + 4u * (n))
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)
#define DEMCR REG(0xE000EDFCu)

#define SYSCLK_HZ 170000000u
#define PI_F 3.14159265f

/* Analogue front end: volts or amps per ADC count (12 bits, 3.3 V reference). */
#define K_STRING_V (3.3f / 4095.0f * 11.0f)
#define K_STRING_A (3.3f / 4095.0f * 10.0f)
#define K_BUS_V (3.3f / 4095.0f * 21.0f)
#define CURRENT_OFFSET_COUNTS 2048.0f

static volatile uint16_t adc_raw[4];

static void gpio_af(uint32_t base, uint32_t pin, uint32_t af)
{
    GPIO_MODER(base) = (GPIO_MODER(base) & ~(3u << (2u * pin))) | (2u << (2u * pin));
    GPIO_OSPEEDR(base) |= 3u << (2u * pin);
    if (pin < 8u) {
        GPIO_AFRL(base) = (GPIO_AFRL(base) & ~(0xFu << (4u * pin))) | (af << (4u * pin));
    } else {
        GPIO_AFRH(base) =
            (GPIO_AFRH(base) & ~(0xFu << (4u * (pin - 8u)))) | (af << (4u * (pin - 8u)));
    }
}

static void gpio_out(uint32_t base, uint32_t pin)
{
    GPIO_MODER(base) = (GPIO_MODER(base) & ~(3u << (2u * pin))) | (1u << (2u * pin));
}

static void gpio_analog(uint32_t base, uint32_t pin)
{
    GPIO_MODER(base) |= 3u << (2u * pin);
}

static void hrtim_init(void)
{
    uint32_t x;
    HR_DLLCR = 0x1u;                       /* DLL calibration start */
    while ((HR_ISR & (1u << 16)) == 0u) {  /* DLLRDY */
    }
    HR_MPER = HR_PERIOD;
    HR_MCMP1R = 0u;                        /* phase shift 0 */
    for (x = 1u; x <= 2u; x++) {
        HR_PERxR(x) = HR_PERIOD;
        HR_CMP1xR(x) = HR_PERIOD / 2u;     /* 50 % duty on each leg */
        HR_DTxR(x) = HR_DEADTIME;
        HR_SETx1R(x) = 1u << 2;            /* set on the timer period */
        HR_RSTx1R(x) = 1u << 3;            /* reset on compare 1 */
        HR_OUTxR(x) = 1u << 8;             /* dead-time insertion, output 2 complementary */
        HR_FLTxR(x) = 1u << 0;             /* fault 1 gates this timer's outputs */
    }
    HR_RSTxR(1u) = 1u << 4;                /* timer A restarts on the master period */
    HR_RSTxR(2u) = 1u << 5;                /* timer B restarts on master compare 1: psi */
    HR_FLTINR1 = 0x1u | (0x1u << 1);       /* FLT1 enabled, from the internal COMP1 output */
    HR_ADC1R = 1u << 5;                    /* ADC trigger 1 on timer A compare 1 (mid-period) */
    HR_MCR = (1u << 16) | (1u << 17) | (1u << 18) | (1u << 3); /* MCEN, TACEN, TBCEN, continuous */
}

static void adc_init(void)
{
    ADC_CR = 0u;                           /* DEEPPWD off */
    ADC_CR = 1u << 28;                     /* ADVREGEN */
    /* Injected sequence of 4 (JL = 3): IN1..IN4, external trigger HRTIM ADC trigger 1
     * (JEXTSEL, check the encoding in RM0440 table 163), rising edge (JEXTEN = 01). */
    ADC_JSQR = 3u | (0x1Bu << 2) | (1u << 7) | (1u << 9) | (2u << 15) | (3u << 21) | (4u << 27);
    ADC_IER = ADC_ISR_JEOS;                /* end of the injected sequence */
    ADC_CR |= 1u;                          /* ADEN */
    ADC_CR |= 1u << 3;                     /* JADSTART: waits for the trigger */
    NVIC_ISER(18u / 32u) = 1u << (18u % 32u);
}

void hal_init(void)
{
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOAEN | RCC_AHB2ENR_GPIOBEN | RCC_AHB2ENR_ADC12EN;
    RCC_APB1ENR1 |= RCC_APB1ENR1_TIM6EN;
    RCC_APB2ENR |= RCC_APB2ENR_SYSCFGEN | RCC_APB2ENR_USART1EN | RCC_APB2ENR_HRTIM1EN;
    gpio_af(GPIOA_BASE, 8u, 13u);
    gpio_af(GPIOA_BASE, 9u, 13u);
    gpio_af(GPIOA_BASE, 10u, 13u);
    gpio_af(GPIOA_BASE, 11u, 13u);
    gpio_analog(GPIOA_BASE, 0u);
    gpio_analog(GPIOA_BASE, 1u);
    gpio_analog(GPIOA_BASE, 2u);
    gpio_analog(GPIOA_BASE, 3u);
    gpio_af(GPIOB_BASE, 6u, 7u);
    gpio_af(GPIOB_BASE, 7u, 7u);
    gpio_out(GPIOB_BASE, 5u);
    gpio_out(GPIOB_BASE, 0u);
    USART_BRR = SYSCLK_HZ / 115200u;
    USART_CR1 = (1u << 0) | (1u << 2) | (1u << 3);  /* UE, RE, TE */
    COMP1_CSR = (1u << 0);                 /* enable; threshold from DAC (board-specific) */
    hrtim_init();
    adc_init();
    TIM6_PSC = 169u;                       /* 1 MHz */
    TIM6_ARR = 999u;                       /* 1 kHz */
    TIM6_DIER = 1u;
    TIM6_CR1 = 1u;
    NVIC_ISER(54u / 32u) = 1u << (54u % 32u);
    DEMCR |= 1u << 24;                     /* trace enable, for the cycle counter */
    DWT_CTRL |= 1u;
}

uint32_t hal_time_us(void)
{
    return DWT_CYCCNT / (SYSCLK_HZ / 1000000u);  /* wraps every 25 s; callers use differences */
}

int hal_uart_getc(void)
{
    if (USART_ISR & USART_ISR_ORE) {
        USART_ICR = USART_ISR_ORE;
    }
    if (USART_ISR & USART_ISR_RXNE) {
        return (int)(USART_RDR & 0xFFu);
    }
    return -1;
}

void hal_uart_write(const uint8_t *data, uint16_t len)
{
    uint16_t k;
    GPIO_BSRR(GPIOB_BASE) = 1u << 5;       /* RS485 driver on */
    for (k = 0u; k < len; k++) {
        while ((USART_ISR & USART_ISR_TXE) == 0u) {
        }
        USART_TDR = data[k];
    }
    while ((USART_ISR & USART_ISR_TC) == 0u) {
    }
    GPIO_BSRR(GPIOB_BASE) = 1u << (5u + 16u);  /* back to receive */
}

void hal_log(const char *text)
{
    (void)text;  /* no debug channel on this board (SWO could carry it) */
}

void hal_exit(int code)
{
    (void)code;
    REG(0xE000ED0Cu) = 0x05FA0004u;        /* AIRCR: system reset */
    for (;;) {
    }
}

/* Called from the ADC interrupt with the four conversions. */
void hal_g474_adc_done(void)
{
    uint32_t k;
    for (k = 0u; k < 4u; k++) {
        adc_raw[k] = (uint16_t)(ADC_JDR(k) & 0xFFFFu);
    }
    ADC_ISR = ADC_ISR_JEOS;                /* clear JEOS */
}

void hal_adc_read(edge_meas_t *m)
{
    m->v_string_V = (float)adc_raw[0] * K_STRING_V;
    m->i_string_A = ((float)adc_raw[1] - CURRENT_OFFSET_COUNTS) * K_STRING_A;
    m->v_bus_V = (float)adc_raw[2] * K_BUS_V;
    m->temp_degC = 25.0f + ((float)adc_raw[3] - 2048.0f) * 0.05f;  /* NTC, linearised */
    /* Cell voltages come from the BMS over its own link; without it the string average. */
    m->cell_min_V = m->v_string_V / 4.0f;
    m->cell_max_V = m->v_string_V / 4.0f;
}

void hal_pwm_set_psi(float psi_rad)
{
    float f = psi_rad < 0.0f ? -psi_rad : psi_rad;
    uint32_t counts = (uint32_t)(f / (2.0f * PI_F) * (float)HR_PERIOD);
    /* A negative psi swaps which bridge leads: here timer B runs ahead by the complement. */
    HR_MCMP1R = psi_rad < 0.0f ? HR_PERIOD - counts : counts;
    HR_OENR = HR_OUT_TA_ALL | HR_OUT_TB_ALL;
}

void hal_pwm_trip(void)
{
    HR_ODISR = HR_OUT_TA_ALL | HR_OUT_TB_ALL;  /* outputs to their idle (off) level now */
}

void hal_contactor(uint8_t closed)
{
    GPIO_BSRR(GPIOB_BASE) = closed ? (1u << 0) : (1u << 16);
}
