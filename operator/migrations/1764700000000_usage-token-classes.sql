-- Up Migration

-- The token classes and units billed at their own rates, beside the totals they are part of:
-- input_tokens includes cache writes, audio and image input; output_tokens includes audio and
-- image output. images, audio_seconds and characters are the units of calls billed per image,
-- per second of audio (whisper-1) and per character (tts-1). Rows written before this migration
-- read 0 for them; their cost_nano already priced them.
ALTER TABLE usage_hourly
  ADD COLUMN cache_write_5m_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
  ADD COLUMN audio_input_tokens    bigint NOT NULL DEFAULT 0,
  ADD COLUMN audio_output_tokens   bigint NOT NULL DEFAULT 0,
  ADD COLUMN image_input_tokens    bigint NOT NULL DEFAULT 0,
  ADD COLUMN image_output_tokens   bigint NOT NULL DEFAULT 0,
  ADD COLUMN images                bigint NOT NULL DEFAULT 0,
  ADD COLUMN audio_seconds         bigint NOT NULL DEFAULT 0,
  ADD COLUMN characters            bigint NOT NULL DEFAULT 0;

-- Down Migration

ALTER TABLE usage_hourly
  DROP COLUMN cache_write_5m_tokens,
  DROP COLUMN cache_write_1h_tokens,
  DROP COLUMN audio_input_tokens,
  DROP COLUMN audio_output_tokens,
  DROP COLUMN image_input_tokens,
  DROP COLUMN image_output_tokens,
  DROP COLUMN images,
  DROP COLUMN audio_seconds,
  DROP COLUMN characters;
