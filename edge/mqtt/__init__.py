"""MQTT: Home Assistant discovery built by pure functions, a thin paho-mqtt shell."""
