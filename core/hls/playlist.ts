/**
 * HLS media playlists (RFC 8216) from a channel's segment index. Pure: the
 * headend's HTTP layer (headend/control/hls.ts) serves what this returns.
 */
export interface IndexedSegment {
  /** Media sequence number (RFC 8216 §4.3.3.2): one more per segment. */
  seq: number;
  /** URI relative to the playlist. */
  uri: string;
  startMs: number;
  durationMs: number;
  discontinuity: boolean;
}

/**
 * A live (sliding window) media playlist: no EXT-X-ENDLIST, so players
 * reload it. `discontinuitySequence`: the EXT-X-DISCONTINUITY tags of
 * segments that have left the window (§4.3.3.3). Every segment carries EXT-X-PROGRAM-DATE-TIME (its wall
 * clock start), which catch-up and players' timelines use.
 */
export function livePlaylist(segments: readonly IndexedSegment[], o: { targetDurationS: number; discontinuitySequence: number }): string {
  // §4.3.3.1: EXTINF rounded to the nearest integer must not exceed the target duration.
  const target = Math.max(Math.ceil(o.targetDurationS), ...segments.map((s) => Math.round(s.durationMs / 1000)));
  const out = [
    '#EXTM3U',
    // Version 3: decimal EXTINF (§7).
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments.length > 0 ? segments[0].seq : 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${o.discontinuitySequence}`,
  ];
  for (const s of segments) {
    // Tags of segments that left the window are counted in EXT-X-DISCONTINUITY-SEQUENCE; these are shown.
    if (s.discontinuity) out.push('#EXT-X-DISCONTINUITY');
    out.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startMs).toISOString()}`, `#EXTINF:${(s.durationMs / 1000).toFixed(3)},`, s.uri);
  }
  return out.join('\n') + '\n';
}

/**
 * A catch-up playlist: the segments of a time range (RFC 8216 §6.2.1). A
 * range wholly in the past is a VOD playlist with EXT-X-ENDLIST; one that
 * reaches into the present (a programme still airing: start-over) is an
 * EVENT playlist that grows until the range ends.
 */
export function rangePlaylist(segments: readonly IndexedSegment[], o: { targetDurationS: number; ended: boolean }): string {
  const target = Math.max(Math.ceil(o.targetDurationS), ...segments.map((s) => Math.round(s.durationMs / 1000)));
  const out = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-PLAYLIST-TYPE:${o.ended ? 'VOD' : 'EVENT'}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments.length > 0 ? segments[0].seq : 0}`,
  ];
  segments.forEach((s, i) => {
    // A playlist of its own starts its own timeline: only discontinuities inside it are marked.
    if (s.discontinuity && i > 0) out.push('#EXT-X-DISCONTINUITY');
    out.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startMs).toISOString()}`, `#EXTINF:${(s.durationMs / 1000).toFixed(3)},`, s.uri);
  });
  if (o.ended) out.push('#EXT-X-ENDLIST');
  return out.join('\n') + '\n';
}
