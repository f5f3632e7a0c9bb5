/**
 * What players open: one SDP file per channel (RFC 4566, RTP/AVP payload type
 * 33 = MP2T/90000 per RFC 3551 Table 5 and RFC 2250) and an M3U playlist with
 * the attributes IPTV players read (`tvg-chno`, `tvg-name`, `group-title`).
 */
import type { ChannelConfig, HeadendConfig } from './config.js';

/** RFC 4566 forbids CR/LF in values; keep the name on one line. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

/**
 * SDP for an RTP channel. Raw-UDP channels have no RTP session and so no SDP:
 * players open `udp://@group:port` from the M3U instead.
 */
export function channelSdp(ch: ChannelConfig, headend: HeadendConfig, sessionVersion = 1, ssrc: number | null = null): string {
  const { group, port, source } = ch.multicast;
  const origin = source ?? headend.interface;
  const lines = [
    'v=0',
    // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>  (RFC 4566 §5.2)
    `o=- ${ch.number} ${sessionVersion} IN IP4 ${origin}`,
    `s=${oneLine(ch.name)}`,
    `i=Roomcast channel ${ch.number} (${oneLine(ch.group)})`,
    // Multicast connection address carries the TTL (RFC 4566 §5.7).
    `c=IN IP4 ${group}/${headend.ttl}`,
    't=0 0',
    'a=tool:roomcast',
    'a=recvonly',
  ];
  if (source) {
    // RFC 4570 §3: source-specific multicast, so receivers join (S,G).
    lines.push(`a=source-filter: incl IN IP4 ${group} ${source}`);
  }
  lines.push(`m=video ${port} RTP/AVP 33`, 'a=rtpmap:33 MP2T/90000');
  // RFC 5576 §4.1: the SSRC the channel is sent with (a RAMS-R names it, RFC 6285 §7.2).
  if (ssrc !== null) lines.push(`a=ssrc:${ssrc >>> 0} cname:roomcast-ch${ch.number}`);
  return lines.join('\r\n') + '\r\n';
}

/** The URL a player opens for a channel: `rtp://@group:port` (or `udp://@…`). */
export function channelUrl(ch: ChannelConfig): string {
  const scheme = ch.transport === 'udp' ? 'udp' : 'rtp';
  const src = ch.multicast.source ? `${ch.multicast.source}@` : '@';
  return `${scheme}://${src}${ch.multicast.group}:${ch.multicast.port}`;
}

function attr(s: string): string {
  return oneLine(s).replace(/"/g, "'");
}

/** Extended M3U as read by VLC, Kodi IPTV Simple, TiviMate and ffmpeg's hls/concat readers. */
/**
 * `logoUrl`: the absolute URL of a channel's logo (`tvg-logo`, as Kodi,
 * TiviMate and VLC read it), or null. `catchup`: the channel's catch-up
 * (its HLS archive), as Kodi IPTV Simple and TiviMate read it: `catchup=
 * "default"`, `catchup-days`, and `catchup-source` with their `{utc}` and
 * `{duration}` placeholders filled in by the player; null: no catch-up.
 */
export function lineupM3u(
  channels: readonly ChannelConfig[],
  logoUrl: (number: number) => string | null = () => null,
  catchup: (number: number) => { days: number; source: string } | null = () => null,
): string {
  const out = ['#EXTM3U'];
  for (const ch of [...channels].sort((a, b) => a.number - b.number)) {
    if (!ch.enabled) continue;
    const tvgId = ch.tvgId ? ` tvg-id="${attr(ch.tvgId)}"` : '';
    const logo = logoUrl(ch.number);
    const cu = catchup(ch.number);
    const cuAttrs = cu ? ` catchup="default" catchup-days="${cu.days}" catchup-source="${attr(cu.source)}"` : '';
    out.push(
      `#EXTINF:-1${tvgId} tvg-chno="${ch.number}" tvg-name="${attr(ch.name)}"${logo ? ` tvg-logo="${attr(logo)}"` : ''}${cuAttrs} group-title="${attr(ch.group)}",${oneLine(ch.name)}`,
      channelUrl(ch),
    );
  }
  return out.join('\n') + '\n';
}

/**
 * A channel's name as it appears in a URL (issue 6 §3: `/hls/<channel>/…`
 * takes the number or this): lowercase ASCII letters and digits joined by
 * single dashes, accents folded ("Télé Zürich 1" → "tele-zurich-1").
 */
export function channelSlug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

/**
 * The channel a URL names: its number, or the slug of its name (the first
 * channel by number when two names share a slug). Null when none does.
 */
export function channelByKey(channels: readonly ChannelConfig[], key: string): ChannelConfig | null {
  if (/^\d{1,4}$/.test(key)) return channels.find((c) => c.number === Number(key)) ?? null;
  const slug = key.toLowerCase();
  if (!/^[a-z0-9-]{1,64}$/.test(slug)) return null;
  let best: ChannelConfig | null = null;
  for (const c of channels) if (channelSlug(c.name) === slug && (best === null || c.number < best.number)) best = c;
  return best;
}
