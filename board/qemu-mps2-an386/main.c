/* Firmware for QEMU's mps2-an386: the DAB board's C core with the averaged plant standing
 * in for ADC and PWM. The 1 kHz SysTick interrupt runs 100 control steps (the switching
 * period is 10 us) through edge_sim_run, the same code the host runs through cffi; the
 * main loop serves Modbus RTU on UART0.
 *
 * For the firmware-in-the-loop tests it logs over semihosting:
 *   W <steps> <frame hex>      a setpoint write and the step at which it took effect
 *   T <steps> <i><v>...        after a write, per control step for 20 ms: string current
 *                              and bus voltage as float32 bit patterns (hex)
 *   S <steps> <i> <v> <vbus> <soc> <latched>   every 100 ms
 * and takes two user-defined function codes: 0x64 <what> injects a plant fault
 * (1 bus over-voltage, 2 runaway heat, 3 internal cell short); 0x65 <code> exits QEMU. */
#include "fw.h"

void hal_qemu_tick(void);

#define BOARD_ID 1u
#define STEPS_PER_TICK 100u
#define TRACE_TICKS 20u
#define RING 8u
#define STATUS_EVERY 100u

typedef struct {
    uint32_t steps;
    float i_A;
    float v_V;
    float v_bus_V;
    float soc;
    uint32_t latched;
} status_t;

static struct {
    edge_sim_params_t p;
    edge_sim_state_t s;
    edge_mb_t mb;
    edge_dev_t dev;
    float trace_i[RING][STEPS_PER_TICK];
    float trace_v[RING][STEPS_PER_TICK];
    uint32_t trace_steps[RING];
    volatile uint32_t traced;     /* trace batches recorded by the interrupt */
    uint32_t printed;             /* ...and printed by the main loop */
    volatile uint32_t trace_left;
    volatile uint32_t ticks;
    volatile status_t status;
    volatile uint32_t status_seq;
    uint32_t status_printed;
    char line[24 + 16u * STEPS_PER_TICK];
} fw;

static uint32_t bits(float x)
{
    union {
        float f;
        uint32_t u;
    } v;
    v.f = x;
    return v.u;
}

void SysTick_Handler(void)
{
    uint32_t slot = fw.traced % RING;
    int trace = fw.trace_left > 0u;
    hal_qemu_tick();
    if (trace) {
        fw.trace_steps[slot] = fw.s.steps;
    }
    edge_sim_run(&fw.p, &fw.s, STEPS_PER_TICK, trace ? fw.trace_i[slot] : (float *)0,
                 trace ? fw.trace_v[slot] : (float *)0);
    if (trace) {
        fw.trace_left--;
        fw.traced++;
    }
    if (++fw.ticks % STATUS_EVERY == 0u) {
        fw.status.steps = fw.s.steps;
        fw.status.i_A = fw.s.unit[0].string.i_A;
        fw.status.v_V = fw.s.unit[0].string.v_V;
        fw.status.v_bus_V = fw.s.bus.v_bus_V;
        fw.status.soc = fw.s.unit[0].string.soc;
        fw.status.latched = fw.s.unit[0].board.prot.latched;
        fw.status_seq++;
    }
}

static uint16_t user_function(const uint8_t *frame, uint16_t len, uint8_t *answer)
{
    uint16_t crc;
    uint32_t irq;
    if (len < 3u) {
        return 0u;
    }
    if (frame[1] == 0x65u) {
        hal_log("EXIT");
        hal_exit((int)frame[2]);
    }
    if (frame[1] != 0x64u) {
        return 0u;
    }
    irq = hal_irq_save();
    switch (frame[2]) {
    case 1u:
        fw.p.bus.v_src_V = 40.0f;  /* the front end runs away: bus over-voltage */
        break;
    case 2u:
        fw.s.unit[0].string.heat_W = 20000.0f;  /* thermal runaway */
        break;
    case 3u:
        fw.s.unit[0].string.cell_short_ohm = 0.0005f;  /* an internal short */
        break;
    default:
        break;
    }
    hal_irq_restore(irq);
    answer[0] = frame[0];
    answer[1] = frame[1];
    answer[2] = frame[2];
    crc = edge_mb_crc16(answer, 3u);
    answer[3] = (uint8_t)(crc & 0xFFu);
    answer[4] = (uint8_t)(crc >> 8);
    return 5u;
}

static void log_write(const uint8_t *frame, uint16_t len, uint32_t steps)
{
    char *at = edge_fw_put_str(fw.line, "W ");
    uint16_t k;
    at = edge_fw_put_u32(at, steps);
    at = edge_fw_put_str(at, " ");
    for (k = 0u; k < len; k++) {
        static const char digits[] = "0123456789abcdef";
        *at++ = digits[(frame[k] >> 4) & 0xFu];
        *at++ = digits[frame[k] & 0xFu];
    }
    *at = '\0';
    hal_log(fw.line);
}

static void print_traces(void)
{
    while (fw.printed != fw.traced) {
        uint32_t slot = fw.printed % RING;
        uint32_t k;
        char *at;
        if (fw.traced - fw.printed > RING) {
            hal_log("LOST trace batches: the main loop fell behind");
            hal_exit(3);
        }
        at = edge_fw_put_str(fw.line, "T ");
        at = edge_fw_put_u32(at, fw.trace_steps[slot]);
        at = edge_fw_put_str(at, " ");
        for (k = 0u; k < STEPS_PER_TICK; k++) {
            at = edge_fw_put_hex32(at, bits(fw.trace_i[slot][k]));
            at = edge_fw_put_hex32(at, bits(fw.trace_v[slot][k]));
        }
        hal_log(fw.line);
        fw.printed++;
    }
}

static void print_status(void)
{
    status_t st;
    char *at;
    uint32_t irq;
    if (fw.status_seq == fw.status_printed) {
        return;
    }
    irq = hal_irq_save();
    st.steps = fw.status.steps;
    st.i_A = fw.status.i_A;
    st.v_V = fw.status.v_V;
    st.v_bus_V = fw.status.v_bus_V;
    st.soc = fw.status.soc;
    st.latched = fw.status.latched;
    fw.status_printed = fw.status_seq;
    hal_irq_restore(irq);
    at = edge_fw_put_str(fw.line, "S ");
    at = edge_fw_put_u32(at, st.steps);
    at = edge_fw_put_str(at, " ");
    at = edge_fw_put_hex32(at, bits(st.i_A));
    at = edge_fw_put_str(at, " ");
    at = edge_fw_put_hex32(at, bits(st.v_V));
    at = edge_fw_put_str(at, " ");
    at = edge_fw_put_hex32(at, bits(st.v_bus_V));
    at = edge_fw_put_str(at, " ");
    at = edge_fw_put_hex32(at, bits(st.soc));
    at = edge_fw_put_str(at, " ");
    (void)edge_fw_put_hex32(at, st.latched);
    hal_log(fw.line);
}

int main(void)
{
    edge_sim_defaults(&fw.p);
    fw.p.n_units = 1u;
    edge_sim_init(&fw.p, &fw.s, 0.5f, 0.5f);
    edge_mb_init(&fw.mb, 1u, 115200u);
    fw.dev.board_id = BOARD_ID;
    fw.dev.fw_version = EDGE_FW_VERSION;
    fw.dev.params = &fw.p.unit[0].board;
    fw.dev.state = &fw.s.unit[0].board;
    fw.dev.meas = &fw.s.unit[0].meas;
    hal_log("edge firmware 1.0 on qemu-mps2-an386, board id 1: Modbus RTU on UART0, slave 1");
    hal_init();
    for (;;) {
        uint32_t frames = fw.mb.frames;
        uint32_t irq = hal_irq_save();  /* a write, its step count and the trace go together */
        uint16_t n = edge_fw_modbus_poll(&fw.mb, &fw.dev, user_function);
        uint32_t steps = fw.s.steps;
        /* The answer of a write echoes function 0x06 or 0x10. */
        int wrote = fw.mb.frames != frames && n > 0u &&
                    (fw.mb.tx[1] == 0x06u || fw.mb.tx[1] == 0x10u);
        if (wrote) {
            fw.trace_left = TRACE_TICKS;
        }
        hal_irq_restore(irq);
        if (wrote) {
            log_write(fw.mb.rx, fw.mb.last_frame_len, steps);
        }
        print_traces();
        print_status();
    }
}
