/* Cortex-M4F start-up for the STM32G474: vector table (16 core + 102 peripheral entries,
 * RM0440 table 97), .data/.bss set-up, FPU on, main. Also the three memory functions GCC
 * may call for struct copies (no libc is linked). */
#include <stddef.h>
#include <stdint.h>

extern uint32_t _stack_top;
extern uint32_t _data_load;
extern uint32_t _data_start;
extern uint32_t _data_end;
extern uint32_t _bss_start;
extern uint32_t _bss_end;

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void ADC1_2_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));
void TIM6_DAC_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));
void HRTIM1_FLT_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

#define IRQ_ADC1_2 18
#define IRQ_TIM6_DAC 54
#define IRQ_HRTIM1_FLT 74
#define N_IRQ 102

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

__attribute__((section(".vectors"), used)) void (*const vector_table[16 + N_IRQ])(void) = {
    (void (*)(void))(&_stack_top),
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler,
    Default_Handler,   /* MemManage */
    Default_Handler,   /* BusFault */
    Default_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMonitor */
    0,
    Default_Handler,   /* PendSV */
    SysTick_Handler,
    [16 + IRQ_ADC1_2] = ADC1_2_IRQHandler,
    [16 + IRQ_TIM6_DAC] = TIM6_DAC_IRQHandler,
    [16 + IRQ_HRTIM1_FLT] = HRTIM1_FLT_IRQHandler,
};

void Reset_Handler(void)
{
    uint32_t *src = &_data_load;
    uint32_t *dst = &_data_start;
    while (dst < &_data_end) {
        *dst++ = *src++;
    }
    for (dst = &_bss_start; dst < &_bss_end; dst++) {
        *dst = 0u;
    }
    SCB_CPACR |= 0xFu << 20;  /* CP10 and CP11: full access to the FPU */
    __asm__ volatile("dsb\n isb");
    (void)main();
    for (;;) {
    }
}

void Default_Handler(void)
{
    for (;;) {
    }
}

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n-- > 0u) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        return memcpy(dst, src, n);
    }
    while (n-- > 0u) {
        d[n] = s[n];
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n-- > 0u) {
        *d++ = (uint8_t)c;
    }
    return dst;
}
