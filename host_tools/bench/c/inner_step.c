/* Instruction-count benchmark of the inner control step, for valgrind --tool=callgrind.
 *
 * inner_steps() runs edge_board_inner, what the firmware's interrupt does every
 * switching period: fast protection, then the inner current loop (PI on top of the eq. 2
 * feed-forward; in V_BUS mode the outer voltage loop every 10th step). board_steps()
 * runs edge_board_step, the 1 kHz slow tick (slow protection, charge protocol) amortised in. Measurements come
 * from a ring of samples recorded from the averaged plant, so branches see real data.
 * empty_steps() is the same loop calling a function that does nothing: its count is the
 * loop's own share, which the benchmark reports and subtracts.
 * Usage: inner_step MODE N   (MODE: current | vbus), prints steps run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_core.h"

#define RING 256u

static edge_meas_t ring[RING];

static void record(uint8_t cmd)
{
    static edge_sim_params_t p;
    static edge_sim_state_t s;
    uint32_t k;
    edge_sim_defaults(&p);
    p.n_units = 1u;
    if (cmd == EDGE_CMD_V_BUS) {
        p.bus.r_src_ohm = 0.0f;
    }
    edge_sim_init(&p, &s, 0.5f, 0.5f);
    s.bus.g_load_S = cmd == EDGE_CMD_V_BUS ? 50.0f / (24.0f * 24.0f) : 0.0f;
    edge_board_command(&p.unit[0].board, &s.unit[0].board, cmd, 5.0f, 24.0f,
                       &s.unit[0].meas);
    edge_sim_run(&p, &s, 20000u, NULL, NULL);
    for (k = 0u; k < RING; k++) {
        edge_sim_run(&p, &s, 1u, NULL, NULL);
        ring[k] = s.unit[0].meas;
    }
}

__attribute__((noinline)) float inner_steps(const edge_board_params_t *p,
                                            edge_board_state_t *s, uint32_t n)
{
    float acc = 0.0f;
    uint32_t k;
    for (k = 0u; k < n; k++) {
        acc += edge_board_inner(p, s, &ring[k & (RING - 1u)]);
    }
    return acc;
}

/* The benchmark loop alone: the same call with the same arguments into a function that
 * does nothing, so its count can be subtracted. */
__attribute__((noinline)) float nop_inner(const edge_board_params_t *p, edge_board_state_t *s,
                                          const edge_meas_t *m)
{
    (void)p;
    (void)s;
    __asm__ volatile("" : : "r"(m) : "memory");
    return 0.0f;
}

__attribute__((noinline)) float empty_steps(const edge_board_params_t *p,
                                            edge_board_state_t *s, uint32_t n)
{
    float acc = 0.0f;
    uint32_t k;
    for (k = 0u; k < n; k++) {
        acc += nop_inner(p, s, &ring[k & (RING - 1u)]);
    }
    return acc;
}

__attribute__((noinline)) float board_steps(const edge_board_params_t *p,
                                            edge_board_state_t *s, uint32_t n)
{
    float acc = 0.0f;
    uint32_t k;
    for (k = 0u; k < n; k++) {
        acc += edge_board_step(p, s, &ring[k & (RING - 1u)]);
    }
    return acc;
}

int main(int argc, char **argv)
{
    static edge_board_params_t p;
    static edge_board_state_t s;
    uint8_t cmd = (argc > 1 && strcmp(argv[1], "vbus") == 0) ? EDGE_CMD_V_BUS
                                                             : EDGE_CMD_CURRENT;
    uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100000u;
    float sink;
    record(cmd);
    edge_board_defaults(&p, EDGE_CHEM_LIFEPO4, 4u, 25.0f);
    p.prot.watchdog_enabled = 0u;
    edge_board_init(&p, &s);
    edge_board_command(&p, &s, cmd, 5.0f, 24.0f, &ring[0]);
    sink = inner_steps(&p, &s, n);
    sink += board_steps(&p, &s, n);
    sink += empty_steps(&p, &s, n);
    printf("%u %g\n", (unsigned)n, (double)sink);
    return 0;
}
