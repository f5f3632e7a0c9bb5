/**
 * Schema version 2: channel logos (issue 5: the lineup shows each channel's
 * logo). One image per channel, keyed by the channel's row id so that it
 * follows the channel through a renumbering and goes with it when the
 * channel is deleted. Only raster formats a browser shows in an <img>
 * (PNG, JPEG, WebP): no SVG, which may carry script.
 */
export const sql = /* sql */ `
CREATE TABLE logos (
  channel_id    INTEGER PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
  media_type    TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/webp')),
  data          BLOB NOT NULL CHECK (length(data) BETWEEN 1 AND 262144),
  updated_at_ms INTEGER NOT NULL
) STRICT;
`;
