"""MQTT with Home Assistant discovery (issue 13; docs/mqtt.md): the sans-I/O core that turns decoded P1
telegrams into (topic, payload, retain) messages. The broker connection is ``io/mqtt_publisher.py``."""
