"""Flexible loads: the immersion diverter's output and the heat pump's SG-Ready relays."""
