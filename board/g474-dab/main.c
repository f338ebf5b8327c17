/* Firmware of the g474-dab board: the ADC end-of-sequence interrupt (100 kHz, triggered
 * by HRTIM mid-period) runs the inner control step, TIM6 (1 kHz) the slow step, and the
 * main loop serves Modbus RTU on USART1 (RS485). Builds with -Werror; not run here. */
#include "fw.h"

#define BOARD_ID 2u

void hal_g474_adc_done(void);

static struct {
    edge_board_params_t params;
    edge_board_state_t state;
    edge_meas_t meas;
    edge_mb_t mb;
    edge_dev_t dev;
} fw;

void ADC1_2_IRQHandler(void)
{
    float psi;
    hal_g474_adc_done();
    hal_adc_read(&fw.meas);
    psi = edge_board_inner(&fw.params, &fw.state, &fw.meas);
    if (fw.state.bridge_off_now) {
        hal_pwm_trip();
    } else {
        hal_pwm_set_psi(psi);
    }
    hal_contactor(fw.state.contactor_closed);
}

void TIM6_DAC_IRQHandler(void)
{
    *(volatile uint32_t *)0x40001010u = 0u;  /* TIM6_SR: clear the update flag */
    edge_board_slow(&fw.params, &fw.state, &fw.meas);
}

int main(void)
{
    edge_board_defaults(&fw.params, EDGE_CHEM_LIFEPO4, 4u, 25.0f);
    edge_board_init(&fw.params, &fw.state);
    edge_mb_init(&fw.mb, 1u, 115200u);
    fw.dev.board_id = BOARD_ID;
    fw.dev.fw_version = EDGE_FW_VERSION;
    fw.dev.params = &fw.params;
    fw.dev.state = &fw.state;
    fw.dev.meas = &fw.meas;
    hal_pwm_trip();  /* outputs off until the first command */
    hal_init();
    for (;;) {
        (void)edge_fw_modbus_poll(&fw.mb, &fw.dev, (edge_fw_user_fn)0);
    }
}
