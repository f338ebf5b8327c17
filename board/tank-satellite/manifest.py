metadata(
    description="Tank-side satellite for edge: immersion SSR and tank probe over MQTT.",
    version="0.1.0",
    license="MIT",
)

require("umqtt.simple")
require("onewire")
require("ds18x20")

package("tank_satellite")
