"""Asset definitions, by layer: extract (raw), SQL models (staging → marts), publish."""
