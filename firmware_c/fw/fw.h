/* Firmware glue shared by the boards (built for boards only, not into edge._core). */
#ifndef EDGE_FW_H
#define EDGE_FW_H

#include "edge_core.h"
#include "hal.h"

#define EDGE_FW_VERSION 0x0100u  /* 1.0: major * 256 + minor */

/* A handler for user-defined function codes: gets the frame without its CRC, writes an
 * answer (with CRC) to `answer` and returns its length (0: no answer). */
typedef uint16_t (*edge_fw_user_fn)(const uint8_t *frame, uint16_t len, uint8_t *answer);

/* Poll the UART into the Modbus slave; returns the length of an answer sent (0: none). */
uint16_t edge_fw_modbus_poll(edge_mb_t *mb, edge_dev_t *dev, edge_fw_user_fn user);

/* Text helpers for hal_log (no printf in the firmware). */
char *edge_fw_put_str(char *at, const char *s);
char *edge_fw_put_u32(char *at, uint32_t v);
char *edge_fw_put_hex32(char *at, uint32_t v);

#endif /* EDGE_FW_H */
