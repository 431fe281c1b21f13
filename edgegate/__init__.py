"""edgegate: a WebSocket security gateway for Raspberry Pi-class edge boxes."""

__version__ = "0.1.0"
