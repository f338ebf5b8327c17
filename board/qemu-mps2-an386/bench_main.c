/* Instruction count of the control step on a Cortex-M4F, under QEMU with -icount: one
 * instruction advances the virtual clock by a fixed time, SysTick counts that clock, so
 * SysTick ticks count instructions. A loop of known length (subs + bne per iteration)
 * calibrates instructions per tick, as in docs/reference/firmware-targets.md §4.3.
 * Measures edge_board_inner (fast protection + inner loop) on samples recorded from the
 * plant, minus the same loop calling an empty function. Logs one BENCH line and exits. */
#include "fw.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#define RING 64u
#define N_STEPS 2000u
#define CAL_ITERS 100000u

static edge_sim_params_t sp;
static edge_sim_state_t ss;
static edge_board_params_t bp;
static edge_board_state_t bs;
static edge_meas_t ring[RING];
static char line[200];

static uint32_t now_ticks(void)
{
    return SYST_CVR;  /* counts down */
}

static uint32_t elapsed(uint32_t t0, uint32_t t1)
{
    return (t0 - t1) & 0x00FFFFFFu;
}

__attribute__((noinline)) static float nop_inner(const edge_board_params_t *p,
                                                 edge_board_state_t *s, const edge_meas_t *m)
{
    (void)p;
    (void)s;
    __asm__ volatile("" : : "r"(m) : "memory");
    return 0.0f;
}

__attribute__((noinline)) static float run_inner(uint32_t n)
{
    float acc = 0.0f;
    uint32_t k;
    for (k = 0u; k < n; k++) {
        acc += edge_board_inner(&bp, &bs, &ring[k & (RING - 1u)]);
    }
    return acc;
}

__attribute__((noinline)) static float run_empty(uint32_t n)
{
    float acc = 0.0f;
    uint32_t k;
    for (k = 0u; k < n; k++) {
        acc += nop_inner(&bp, &bs, &ring[k & (RING - 1u)]);
    }
    return acc;
}

__attribute__((noinline)) static void calibration_loop(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
}

static char *field(char *at, const char *name, uint32_t v)
{
    at = edge_fw_put_str(at, name);
    return edge_fw_put_u32(at, v);
}

int main(void)
{
    uint32_t k;
    uint32_t t0;
    uint32_t inner;
    uint32_t empty;
    uint32_t cal;
    volatile float sink;
    char *at;

    SYST_RVR = 0x00FFFFFFu;  /* free-running, no interrupt, processor clock */
    SYST_CVR = 0u;
    SYST_CSR = 0x5u;

    edge_sim_defaults(&sp);
    sp.n_units = 1u;
    edge_sim_init(&sp, &ss, 0.5f, 0.5f);
    edge_board_command(&sp.unit[0].board, &ss.unit[0].board, EDGE_CMD_CURRENT, 5.0f, 0.0f,
                       &ss.unit[0].meas);
    edge_sim_run(&sp, &ss, 2000u, (float *)0, (float *)0);
    for (k = 0u; k < RING; k++) {
        edge_sim_run(&sp, &ss, 1u, (float *)0, (float *)0);
        ring[k] = ss.unit[0].meas;
    }
    edge_board_defaults(&bp, EDGE_CHEM_LIFEPO4, 4u, 25.0f);
    bp.prot.watchdog_enabled = 0u;
    edge_board_init(&bp, &bs);
    edge_board_command(&bp, &bs, EDGE_CMD_CURRENT, 5.0f, 0.0f, &ring[0]);
    sink = run_inner(100u);  /* first fast call derives the quiet band */

    t0 = now_ticks();
    sink = run_inner(N_STEPS);
    inner = elapsed(t0, now_ticks());
    t0 = now_ticks();
    sink = run_empty(N_STEPS);
    empty = elapsed(t0, now_ticks());
    t0 = now_ticks();
    calibration_loop(CAL_ITERS);
    cal = elapsed(t0, now_ticks());
    (void)sink;

    at = edge_fw_put_str(line, "BENCH");
    at = field(at, " steps=", N_STEPS);
    at = field(at, " inner_ticks=", inner);
    at = field(at, " empty_ticks=", empty);
    at = field(at, " cal_instructions=", 2u * CAL_ITERS);
    (void)field(at, " cal_ticks=", cal);
    hal_log(line);
    hal_exit(0);
    return 0;
}
