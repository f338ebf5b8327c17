/* Modbus RTU slave: frame handling, CRC-16, exceptions, t3.5 timing; the register
 * access of the DAB board (register map in board_regs.c).
 * Source: Modbus Application Protocol V1.1b3 (functions 03, 04, 06, 16, exception codes
 * 01-03) and Modbus over Serial Line V1.02 (RTU framing, CRC-16, t3.5, silence rules).
 * Bytes are assembled with shifts and masks (no packed structs: the core also builds for
 * 16-bit-char targets). */
#include "edge_core.h"
#include "fmath.h"

#define FC_READ_HOLDING 0x03u
#define FC_READ_INPUT 0x04u
#define FC_WRITE_SINGLE 0x06u
#define FC_WRITE_MULTIPLE 0x10u
#define EX_ILLEGAL_FUNCTION 0x01u
#define EX_ILLEGAL_ADDRESS 0x02u
#define EX_ILLEGAL_VALUE 0x03u
#define MAX_READ 125u
#define MAX_WRITE 123u

void edge_mb_init(edge_mb_t *mb, uint8_t address, uint32_t baud)
{
    mb->address = address;
    mb->baud = baud > 0u ? baud : 9600u;
    mb->rx_len = 0u;
    mb->last_frame_len = 0u;
    mb->rx_overflow = 0u;
    mb->last_rx_us = 0u;
    mb->tx_len = 0u;
    mb->frames = 0u;
    mb->crc_errors = 0u;
    mb->exceptions = 0u;
    mb->ignored = 0u;
}

uint16_t edge_mb_crc16(const uint8_t *data, uint16_t len)
{
    uint16_t crc = 0xFFFFu;
    uint16_t k;
    int bit;
    for (k = 0u; k < len; k++) {
        crc = (uint16_t)(crc ^ (uint16_t)(data[k] & 0xFFu));
        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
        }
    }
    return crc;
}

uint32_t edge_mb_t35_us(const edge_mb_t *mb)
{
    /* Above 19200 baud the standard fixes t3.5 at 1750 us. */
    return mb->baud > 19200u ? 1750u : (uint32_t)(38500000u / mb->baud);
}

static const edge_reg_t *find(uint8_t space, uint16_t address)
{
    uint16_t n;
    uint16_t k;
    const edge_reg_t *regs = edge_regs(&n);
    for (k = 0u; k < n; k++) {
        if (regs[k].space == space && regs[k].address == address) {
            return &regs[k];
        }
    }
    return (const edge_reg_t *)0;
}

static uint16_t scaled(float value, float scale)
{
    float x = value * scale;
    int32_t r;
    if (!edge_finitef(x)) {
        return 0x8000u;  /* the "no value" pattern of a signed register */
    }
    x = edge_clampf(x, -32768.0f, 65535.0f);
    r = (int32_t)(x < 0.0f ? x - 0.5f : x + 0.5f);
    return (uint16_t)(r & 0xFFFF);
}

static uint16_t read_input(const edge_dev_t *d, uint16_t address)
{
    const edge_meas_t *m = d->meas;
    const edge_board_state_t *s = d->state;
    uint32_t latched = s->prot.latched;
    uint32_t active = s->prot.active;
    if (address >= 32u && address < 32u + (uint16_t)EDGE_FAULT_COUNT) {
        uint32_t t = s->prot.trips[address - 32u];
        return (uint16_t)(t > 65535u ? 65535u : t);
    }
    switch (address) {
    case 0u: return scaled(m->v_string_V, 1000.0f);
    case 1u: return scaled(m->i_string_A, 1000.0f);
    case 2u: return scaled(m->v_bus_V, 1000.0f);
    case 3u: return scaled(m->temp_degC, 10.0f);
    case 4u: return scaled(m->cell_min_V, 1000.0f);
    case 5u: return scaled(m->cell_max_V, 1000.0f);
    case 6u: return s->ctrl.mode;
    case 7u: return s->command;
    case 8u: return s->charge.step;
    case 9u: return s->charge.done;
    case 10u: return s->prot.action;
    case 11u: return (uint16_t)(latched >> 16);
    case 12u: return (uint16_t)(latched & 0xFFFFu);
    case 13u: return (uint16_t)(active >> 16);
    case 14u: return (uint16_t)(active & 0xFFFFu);
    case 15u: return s->contactor_closed;
    case 16u: return scaled(s->ctrl.psi_rad, 10000.0f);
    case 17u: return (uint16_t)(s->steps >> 16);
    case 18u: return (uint16_t)(s->steps & 0xFFFFu);
    case 19u: return d->fw_version;
    case 20u: return d->board_id;
    default: return 0u;
    }
}

static uint16_t read_holding(const edge_dev_t *d, uint16_t address)
{
    switch (address) {
    case 0u: return d->cmd;
    case 1u: return (uint16_t)d->i_ref_mA;
    case 2u: return d->v_ref_mV;
    case 3u: return (uint16_t)d->p_ref_dW;
    case 4u: return d->protocol_chem;
    case 5u: return d->clear_result;
    case 6u: return d->refreshes;
    case 16u: return d->fw_version;
    case 17u: return d->board_id;
    default: return 0u;
    }
}

static int32_t as_raw(const edge_reg_t *r, uint16_t value)
{
    return r->is_signed && value >= 0x8000u ? (int32_t)value - 65536 : (int32_t)value;
}

/* 0 if `value` may be written to `address`, else the exception code. */
static uint8_t check_write(uint16_t address, uint16_t value)
{
    const edge_reg_t *r = find(EDGE_MB_HOLDING, address);
    int32_t raw;
    if (r == (const edge_reg_t *)0 || r->access != EDGE_MB_RW) {
        return EX_ILLEGAL_ADDRESS;
    }
    raw = as_raw(r, value);
    return (raw < r->min || raw > r->max) ? EX_ILLEGAL_VALUE : 0u;
}

static void apply_command(edge_dev_t *d)
{
    edge_board_command(d->params, d->state, (uint8_t)d->cmd, (float)d->i_ref_mA / 1000.0f,
                       (float)d->v_ref_mV / 1000.0f, d->meas);
}

/* Write one checked value. Setpoints that shape the present command re-apply it. */
static void write_holding(edge_dev_t *d, uint16_t address, uint16_t value)
{
    switch (address) {
    case 0u:
        d->cmd = value;
        apply_command(d);
        break;
    case 1u:
        d->i_ref_mA = (int16_t)as_raw(find(EDGE_MB_HOLDING, 1u), value);
        if (d->cmd != EDGE_CMD_PROTOCOL) {
            apply_command(d);
        }
        break;
    case 2u:
        d->v_ref_mV = value;
        if (d->cmd != EDGE_CMD_PROTOCOL) {
            apply_command(d);
        }
        break;
    case 3u: {
        /* A power reference becomes the current reference at the present string voltage. */
        float v = d->meas->v_string_V;
        d->p_ref_dW = (int16_t)as_raw(find(EDGE_MB_HOLDING, 3u), value);
        if (v > 1.0f) {
            float i_mA = edge_clampf((float)d->p_ref_dW * 100.0f / v, -8000.0f, 8000.0f);
            d->i_ref_mA = (int16_t)(i_mA < 0.0f ? i_mA - 0.5f : i_mA + 0.5f);
        }
        if (d->cmd != EDGE_CMD_PROTOCOL) {
            apply_command(d);
        }
        break;
    }
    case 4u:
        d->protocol_chem = value;
        /* The protocol table of that chemistry; it starts with the next PROTOCOL command. */
        d->params->protocol = edge_charge_protocol((uint8_t)value, &d->params->n_protocol_steps);
        break;
    case 5u:
        d->clear_result = value == 1u ? (uint16_t)edge_board_clear(d->params, d->state, d->meas)
                                      : 0u;
        break;
    case 6u:
        d->refreshes++;
        edge_prot_refresh(&d->state->prot);
        break;
    default:
        break;
    }
}

static uint16_t put16(uint8_t *buf, uint16_t at, uint16_t value)
{
    buf[at] = (uint8_t)((value >> 8) & 0xFFu);
    buf[at + 1u] = (uint8_t)(value & 0xFFu);
    return (uint16_t)(at + 2u);
}

static uint16_t get16(const uint8_t *buf, uint16_t at)
{
    return (uint16_t)(((uint16_t)(buf[at] & 0xFFu) << 8) | (uint16_t)(buf[at + 1u] & 0xFFu));
}

static uint16_t finish(edge_mb_t *mb, uint16_t len)
{
    uint16_t crc = edge_mb_crc16(mb->tx, len);
    mb->tx[len] = (uint8_t)(crc & 0xFFu);  /* CRC goes low byte first */
    mb->tx[len + 1u] = (uint8_t)(crc >> 8);
    mb->tx_len = (uint16_t)(len + 2u);
    return mb->tx_len;
}

static uint16_t exception(edge_mb_t *mb, uint8_t fc, uint8_t code)
{
    mb->exceptions++;
    mb->tx[0] = mb->address;
    mb->tx[1] = (uint8_t)(fc | 0x80u);
    mb->tx[2] = code;
    return finish(mb, 3u);
}

static uint16_t handle_read(edge_mb_t *mb, edge_dev_t *dev, const uint8_t *f, uint16_t len)
{
    uint8_t fc = f[1];
    uint8_t space = fc == FC_READ_INPUT ? EDGE_MB_INPUT : EDGE_MB_HOLDING;
    uint16_t start;
    uint16_t count;
    uint16_t k;
    uint16_t at;
    if (len != 8u) {
        return exception(mb, fc, EX_ILLEGAL_VALUE);
    }
    start = get16(f, 2u);
    count = get16(f, 4u);
    if (count < 1u || count > MAX_READ) {
        return exception(mb, fc, EX_ILLEGAL_VALUE);
    }
    for (k = 0u; k < count; k++) {
        if (find(space, (uint16_t)(start + k)) == (const edge_reg_t *)0) {
            return exception(mb, fc, EX_ILLEGAL_ADDRESS);
        }
    }
    mb->tx[0] = mb->address;
    mb->tx[1] = fc;
    mb->tx[2] = (uint8_t)(2u * count);
    at = 3u;
    for (k = 0u; k < count; k++) {
        uint16_t a = (uint16_t)(start + k);
        at = put16(mb->tx, at, space == EDGE_MB_INPUT ? read_input(dev, a) : read_holding(dev, a));
    }
    return finish(mb, at);
}

static uint16_t handle_write(edge_mb_t *mb, edge_dev_t *dev, const uint8_t *f, uint16_t len)
{
    uint8_t fc = f[1];
    uint16_t start = get16(f, 2u);
    uint16_t count;
    uint16_t k;
    uint8_t ex;
    if (fc == FC_WRITE_SINGLE) {
        if (len != 8u) {
            return exception(mb, fc, EX_ILLEGAL_VALUE);
        }
        ex = check_write(start, get16(f, 4u));
        if (ex != 0u) {
            return exception(mb, fc, ex);
        }
        write_holding(dev, start, get16(f, 4u));
        for (k = 0u; k < 6u; k++) {
            mb->tx[k] = f[k];  /* the answer echoes the request */
        }
        mb->tx[0] = mb->address;
        return finish(mb, 6u);
    }
    if (len < 9u) {
        return exception(mb, fc, EX_ILLEGAL_VALUE);
    }
    count = get16(f, 4u);
    if (count < 1u || count > MAX_WRITE || (uint16_t)(f[6] & 0xFFu) != 2u * count ||
        len != (uint16_t)(9u + 2u * count)) {
        return exception(mb, fc, EX_ILLEGAL_VALUE);
    }
    /* All or nothing: check every value before writing any. */
    for (k = 0u; k < count; k++) {
        ex = check_write((uint16_t)(start + k), get16(f, (uint16_t)(7u + 2u * k)));
        if (ex != 0u) {
            return exception(mb, fc, ex);
        }
    }
    for (k = 0u; k < count; k++) {
        write_holding(dev, (uint16_t)(start + k), get16(f, (uint16_t)(7u + 2u * k)));
    }
    mb->tx[0] = mb->address;
    mb->tx[1] = fc;
    (void)put16(mb->tx, 2u, start);
    (void)put16(mb->tx, 4u, count);
    return finish(mb, 6u);
}

uint16_t edge_mb_frame(edge_mb_t *mb, edge_dev_t *dev, const uint8_t *frame, uint16_t len)
{
    uint8_t address;
    uint16_t answer;
    mb->tx_len = 0u;
    if (len < 4u) {
        mb->ignored++;
        return 0u;
    }
    if (edge_mb_crc16(frame, (uint16_t)(len - 2u)) !=
        (uint16_t)((frame[len - 2u] & 0xFFu) | ((frame[len - 1u] & 0xFFu) << 8))) {
        mb->crc_errors++;
        return 0u;
    }
    address = (uint8_t)(frame[0] & 0xFFu);
    if (address != mb->address && address != 0u) {
        mb->ignored++;
        return 0u;
    }
    len = (uint16_t)(len - 2u);
    switch (frame[1] & 0xFFu) {
    case FC_READ_HOLDING:
    case FC_READ_INPUT:
        answer = address == 0u ? 0u : handle_read(mb, dev, frame, (uint16_t)(len + 2u));
        break;
    case FC_WRITE_SINGLE:
    case FC_WRITE_MULTIPLE:
        answer = handle_write(mb, dev, frame, (uint16_t)(len + 2u));
        break;
    default:
        answer = exception(mb, (uint8_t)(frame[1] & 0x7Fu), EX_ILLEGAL_FUNCTION);
        break;
    }
    mb->frames++;
    if (address == 0u) {
        mb->tx_len = 0u;  /* broadcasts are never answered */
        return 0u;
    }
    return answer;
}

void edge_mb_rx_byte(edge_mb_t *mb, uint8_t byte, uint32_t now_us)
{
    if (mb->rx_len < (uint16_t)sizeof mb->rx) {
        mb->rx[mb->rx_len++] = byte;
    } else {
        mb->rx_overflow = 1u;
    }
    mb->last_rx_us = now_us;
}

uint16_t edge_mb_poll(edge_mb_t *mb, edge_dev_t *dev, uint32_t now_us)
{
    uint16_t n;
    if (mb->rx_len == 0u || now_us - mb->last_rx_us < edge_mb_t35_us(mb)) {
        return 0u;
    }
    n = mb->rx_len;
    mb->rx_len = 0u;
    mb->last_frame_len = n;
    if (mb->rx_overflow) {
        mb->rx_overflow = 0u;
        mb->ignored++;
        return 0u;  /* longer than any valid frame */
    }
    return edge_mb_frame(mb, dev, mb->rx, n);
}
