/* Cortex-M4F start-up for mps2-an386: the vector table;
 * the reset handler and memory functions are in board/common/cortex_m.c. */
#include <stdint.h>

extern uint32_t _stack_top;

void Reset_Handler(void);  /* board/common/cortex_m.c */
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".vectors"), used)) void (*const vector_table[16])(void) = {
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
};

void Default_Handler(void)
{
    for (;;) {
    }
}
