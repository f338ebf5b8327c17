/* Minimal text formatting for log lines (the firmware links no printf). */
#include "fw.h"

char *edge_fw_put_str(char *at, const char *s)
{
    while (*s != '\0') {
        *at++ = *s++;
    }
    *at = '\0';
    return at;
}

char *edge_fw_put_u32(char *at, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        *at++ = tmp[--n];
    }
    *at = '\0';
    return at;
}

char *edge_fw_put_hex32(char *at, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    int shift;
    for (shift = 28; shift >= 0; shift -= 4) {
        *at++ = digits[(v >> shift) & 0xFu];
    }
    *at = '\0';
    return at;
}
