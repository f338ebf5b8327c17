/* Averaged plant: battery strings (OCV(SOC), R0, one RC pair, cells with imbalance and a
 * thermal node) and the DC bus. Host and QEMU builds only. */
#include "edge_core.h"
#include "fmath.h"

#define EDGE_SOC_CHUNK_As 0.5f
#define EDGE_TEMP_CHUNK_K 0.001f

void edge_string_defaults(edge_string_params_t *p, uint8_t chem_id, uint16_t n_cells,
                          float capacity_Ah)
{
    const edge_chem_t *c = edge_chem(chem_id);
    uint16_t k;
    float scale = capacity_Ah > 0.0f ? 25.0f / capacity_Ah : 1.0f;  /* table: 25 Ah cells */
    if (c == (const edge_chem_t *)0) {
        c = edge_chem(EDGE_CHEM_LIFEPO4);
    }
    if (n_cells < 1u) {
        n_cells = 1u;
    }
    if (n_cells > 16u) {
        n_cells = 16u;
    }
    p->chem = c;
    p->n_cells = n_cells;
    p->capacity_As = capacity_Ah * 3600.0f;
    p->r0_ohm = c->r0_ohm * scale * (float)n_cells;
    p->r1_ohm = c->r1_ohm * scale * (float)n_cells;
    p->c1_F = c->c1_F / (scale * (float)n_cells);
    for (k = 0u; k < 16u; k++) {
        p->soc_offset[k] = 0.0f;
    }
    p->c_th_J_per_K = 900.0f * (float)n_cells;  /* about 0.9 kJ/K per 25 Ah cell */
    p->r_th_K_per_W = 2.0f;
    p->t_amb_degC = 25.0f;
}

static void update_cells(const edge_string_params_t *p, edge_string_state_t *s)
{
    uint16_t k;
    float drop = (s->v_rc_V + s->i_A * p->r0_ohm) / (float)p->n_cells;
    float ocv = 0.0f;
    float lo = 1.0e9f;
    float hi = -1.0e9f;
    for (k = 0u; k < p->n_cells; k++) {
        float cell_ocv = edge_chem_ocv_V(p->chem, s->soc + p->soc_offset[k]);
        float v;
        if (k == 0u && s->cell_short_ohm > 0.0f) {
            /* An internal short loads the cell through its own R0: its voltage sags. */
            float r_cell = p->r0_ohm / (float)p->n_cells;
            cell_ocv *= s->cell_short_ohm / (s->cell_short_ohm + r_cell);
        }
        ocv += cell_ocv;
        v = cell_ocv + drop;
        s->cell_V[k] = v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    s->ocv_V = ocv;
    s->cell_min_V = lo;
    s->cell_max_V = hi;
}

void edge_string_init(const edge_string_params_t *p, edge_string_state_t *s, float soc,
                      float temp_degC)
{
    uint16_t k;
    for (k = 0u; k < 16u; k++) {
        s->cell_V[k] = 0.0f;
    }
    s->soc = edge_clampf(soc, 0.0f, 1.0f);
    s->charge_acc_As = 0.0f;
    s->v_rc_V = 0.0f;
    s->i_A = 0.0f;
    s->temp_degC = temp_degC;
    s->heat_acc_J = 0.0f;
    s->heat_W = 0.0f;
    s->cell_short_ohm = 0.0f;
    update_cells(p, s);
    s->v_V = s->ocv_V;
}

void edge_string_fast(const edge_string_params_t *p, edge_string_state_t *s, float power_W)
{
    float e = s->ocv_V + s->v_rc_V;
    float disc = e * e + 4.0f * p->r0_ohm * power_W;
    float v = 0.5f * (e + edge_sqrt_pos(disc));
    s->v_V = v;
    s->i_A = v > 0.0f ? edge_flush_tiny(power_W / v) : 0.0f;
}

void edge_string_slow(const edge_string_params_t *p, edge_string_state_t *s, float dt_s)
{
    float heat;
    float tau = p->r1_ohm * p->c1_F;
    /* Coulomb counting in chunks: float32 cannot add one step's charge to soc directly,
     * and chunks keep the result independent of how steps are batched. */
    s->charge_acc_As += s->i_A * dt_s;
    if (p->capacity_As > 0.0f &&
        (s->charge_acc_As >= EDGE_SOC_CHUNK_As || s->charge_acc_As <= -EDGE_SOC_CHUNK_As)) {
        s->soc = edge_clampf(s->soc + s->charge_acc_As / p->capacity_As, 0.0f, 1.0f);
        s->charge_acc_As = 0.0f;
    }
    if (tau > 0.0f) {
        /* Exact discretisation of the RC pair for a current held over dt. */
        s->v_rc_V += (s->i_A * p->r1_ohm - s->v_rc_V) * (1.0f - edge_expf(-dt_s / tau));
        s->v_rc_V = edge_flush_tiny(s->v_rc_V);
    }
    heat = s->i_A * s->i_A * p->r0_ohm + s->heat_W;
    if (p->c_th_J_per_K > 0.0f && p->r_th_K_per_W > 0.0f) {
        /* Same float32 limit as the SOC: one step's temperature change is below the
         * resolution of temp_degC, so the heat is accumulated and moved in chunks. */
        s->heat_acc_J += dt_s * (heat - (s->temp_degC - p->t_amb_degC) / p->r_th_K_per_W);
        if (edge_absf(s->heat_acc_J) >= EDGE_TEMP_CHUNK_K * p->c_th_J_per_K) {
            s->temp_degC += s->heat_acc_J / p->c_th_J_per_K;
            s->heat_acc_J = 0.0f;
        }
    }
    update_cells(p, s);
}

void edge_bus_step(const edge_bus_params_t *p, edge_bus_state_t *s, float p_strings_W,
                   float dt_s)
{
    float v = s->v_bus_V;
    float i_src = p->r_src_ohm > 0.0f ? (p->v_src_V - v) / p->r_src_ohm : 0.0f;
    float i_dab = v > 0.1f ? p_strings_W / v : 0.0f;
    if (p->c_bus_F > 0.0f) {
        s->v_bus_V = v + dt_s / p->c_bus_F * (i_src - i_dab - v * s->g_load_S);
    }
    if (s->v_bus_V < 0.0f) {
        s->v_bus_V = 0.0f;
    }
}
