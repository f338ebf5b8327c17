/* Cortex-M4F start-up for the STM32G474: the vector table (16 core + 102 peripheral
 * entries, RM0440 table 97); the reset handler and memory functions are in
 * board/common/cortex_m.c. */
#include <stdint.h>

extern uint32_t _stack_top;

void Reset_Handler(void);  /* board/common/cortex_m.c */
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

void Default_Handler(void)
{
    for (;;) {
    }
}
