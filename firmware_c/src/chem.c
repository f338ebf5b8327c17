/* Chemistry data, per cell.
 *
 * Sources: nominal voltage, capacity and charge limits from the paper's Table II
 * (Dutta, Mueller, Wauneka, De Angelis, "System Integration for Grid-scale Hybrid
 * Battery Technologies", Sandia National Laboratories: Power Sonic LiFePO4 3.2 V 25 Ah,
 * 1C CC to 3.65 V then CV to I < 0.05C; Enersys Cyclon Pb-acid 2 V 25 Ah, fast charge
 * 2.45-2.5 V, float 2.27-2.35 V). The OCV curves and equivalent-circuit values are
 * engineering estimates with the shape of published curves for each chemistry (flat
 * LiFePO4 plateau, near-linear lead-acid with a charge-acceptance knee, Ni-Zn around
 * 1.7 V), not measurements: replace them with a characterised cell's data. Ni-Zn limits
 * (1.9 V charge, 1.2 V cut-off) are typical manufacturer values, not from the seeds. */
#include "edge_core.h"
#include "fmath.h"

static const edge_chem_t CHEMS[EDGE_CHEM_COUNT] = {
    {EDGE_CHEM_LIFEPO4,
     {2.50f, 3.10f, 3.20f, 3.24f, 3.26f, 3.28f, 3.29f, 3.30f, 3.32f, 3.34f, 3.62f},
     0.0030f, 0.0020f, 10000.0f, 3.2f, 3.65f, 2.50f},
    {EDGE_CHEM_LEAD_ACID,
     {1.93f, 1.96f, 1.98f, 2.00f, 2.02f, 2.04f, 2.06f, 2.08f, 2.10f, 2.14f, 2.42f},
     0.0040f, 0.0025f, 6000.0f, 2.0f, 2.45f, 1.75f},
    {EDGE_CHEM_ZINC,
     {1.50f, 1.65f, 1.70f, 1.72f, 1.74f, 1.76f, 1.78f, 1.80f, 1.82f, 1.85f, 1.96f},
     0.0040f, 0.0030f, 5000.0f, 1.6f, 1.90f, 1.20f},
};

const edge_chem_t *edge_chem(uint8_t chem_id)
{
    return chem_id < EDGE_CHEM_COUNT ? &CHEMS[chem_id] : (const edge_chem_t *)0;
}

float edge_chem_ocv_V(const edge_chem_t *c, float soc)
{
    float x = edge_clampf(soc, 0.0f, 1.0f) * 10.0f;
    int i = (int)x;
    if (i >= 10) {
        return c->ocv_V[10];
    }
    return c->ocv_V[i] + (c->ocv_V[i + 1] - c->ocv_V[i]) * (x - (float)i);
}
