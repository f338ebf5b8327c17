/* What every Cortex-M board port shares: the reset handler (.data/.bss set-up, FPU on,
 * main), the PRIMASK-based interrupt save/restore of hal.h, and the three memory
 * functions GCC may call for struct copies (no libc is linked). Each board's startup.c
 * holds its vector table. Source: ARMv7-M Architecture Reference Manual (CPACR, PRIMASK). */
#include <stddef.h>
#include <stdint.h>

#include "hal.h"

extern uint32_t _data_load;
extern uint32_t _data_start;
extern uint32_t _data_end;
extern uint32_t _bss_start;
extern uint32_t _bss_end;

int main(void);
void Reset_Handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

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

uint32_t hal_irq_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
    return primask;
}

void hal_irq_restore(uint32_t state)
{
    __asm__ volatile("msr primask, %0" ::"r"(state) : "memory");
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
