/* Modbus RTU slave of the DAB board and its register map (the table is in
 * board_regs.c and in docs form in firmware_c/REGISTERS.md, checked by the tests).
 *
 * Input registers (FC 0x04) carry telemetry; holding registers (FC 0x03 read, 0x06 and
 * 0x10 write) carry setpoints. A write is validated in full before anything changes:
 * an out-of-range value gets exception 03 (illegal data value), an unknown or read-only
 * address exception 02, an unknown function exception 01. A frame with a bad CRC, for
 * another address or too short gets no answer (Modbus over serial line, §2.4.1); a
 * broadcast (address 0) is executed without an answer. */

enum { EDGE_MB_INPUT = 0, EDGE_MB_HOLDING = 1 };
enum { EDGE_MB_RO = 0, EDGE_MB_RW = 1 };

typedef struct {
    uint16_t address;
    uint8_t space;            /* EDGE_MB_INPUT or EDGE_MB_HOLDING */
    uint8_t access;           /* EDGE_MB_RO or EDGE_MB_RW */
    uint8_t is_signed;        /* the 16-bit value is two's complement */
    int32_t min;              /* allowed raw values of a write */
    int32_t max;
    const char *name;         /* with its unit, e.g. "string_voltage_mV" */
} edge_reg_t;

const edge_reg_t *edge_regs(uint16_t *n);

typedef struct {
    uint16_t board_id;
    uint16_t fw_version;
    edge_board_params_t *params;  /* the protocol-select register changes its protocol */
    edge_board_state_t *state;
    const edge_meas_t *meas;  /* the latest sample */
    /* setpoints as last written */
    uint16_t cmd;
    int16_t i_ref_mA;
    uint16_t v_ref_mV;
    int16_t p_ref_dW;
    uint16_t protocol_chem;
    uint16_t clear_result;    /* 1: the last clear was accepted */
    uint16_t refreshes;       /* watchdog refreshes seen (wraps) */
} edge_dev_t;

typedef struct {
    uint8_t address;          /* this slave, 1..247 */
    uint32_t baud;
    uint8_t rx[256];
    uint16_t rx_len;
    uint16_t last_frame_len;  /* length of the frame edge_mb_poll handled last (still in rx) */
    uint8_t rx_overflow;
    uint32_t last_rx_us;
    uint8_t tx[256];
    uint16_t tx_len;
    uint32_t frames;          /* answered or executed */
    uint32_t crc_errors;
    uint32_t exceptions;
    uint32_t ignored;         /* short, overflowing, or for another address */
} edge_mb_t;

void edge_mb_init(edge_mb_t *mb, uint8_t address, uint32_t baud);
uint16_t edge_mb_crc16(const uint8_t *data, uint16_t len);
/* 3.5 character times (11 bits each) at mb->baud; 1750 us above 19200 baud. */
uint32_t edge_mb_t35_us(const edge_mb_t *mb);
/* Handle one complete frame; the answer (if any) is in mb->tx, its length returned. */
uint16_t edge_mb_frame(edge_mb_t *mb, edge_dev_t *dev, const uint8_t *frame, uint16_t len);
/* Byte-wise reception for a UART port: a byte, and a poll that ends the frame after
 * 3.5 character times of silence. Poll returns the answer length (0: none). */
void edge_mb_rx_byte(edge_mb_t *mb, uint8_t byte, uint32_t now_us);
uint16_t edge_mb_poll(edge_mb_t *mb, edge_dev_t *dev, uint32_t now_us);
