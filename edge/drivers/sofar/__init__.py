"""Sofar ME3000SP / HYD-ES storage inverters (Modbus RTU, passive mode 0x42, heartbeat 0x49)."""
