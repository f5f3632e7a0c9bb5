#!/usr/bin/env bash
# Media fixtures for the core/mpegts and core/codec tests, made from a recipe
# (STYLE.md §7, after TSDuck's src/utest/tables/ts2headers.sh).
#
# Run from the repository root:  bash scripts/make-fixtures.sh
# Idempotent: every output is rewritten; ffmpeg runs single-threaded with
# +bitexact, so the same ffmpeg build gives the same bytes.
#
# Each .ts has an ffprobe JSON oracle next to it (video packets only: pts,
# dts, flags — "K" marks a keyframe) that the tests compare the inspector to.
# Size budget: all fixtures together stay under 1.5 MB.
set -euo pipefail

cd "$(dirname "$0")/.."
out=test/fixtures
mkdir -p "$out"

duration_s=6
fps=25
gop=25        # one random access point per second
muxrate=700k  # CBR, so the stream carries null packets and PCR-only packets

# Common input: 320x240 test pattern at 25 fps plus a 1 kHz tone.
inputs=(
  -f lavfi -i "testsrc2=size=320x240:rate=${fps}:duration=${duration_s}"
  -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=${duration_s}"
)
# The mpegts muxer: CBR, PAT/PMT and SDT often, named service for the SDT test.
mux=(
  -f mpegts -muxrate "$muxrate" -pat_period 0.1 -sdt_period 0.5
  -mpegts_service_id 1 -mpegts_pmt_start_pid 0x1000 -mpegts_start_pid 0x100
  -metadata service_name=Roomcast-Test -metadata service_provider=Roomcast
  -fflags +bitexact -flags +bitexact
)
audio=(-c:a aac -b:a 48k -ac 1)

make_oracle() {
  local ts=$1
  ffprobe -v error -select_streams v:0 \
    -show_entries stream=index,id,codec_name,codec_type:packet=pts,dts,flags \
    -of json=compact=1 "$ts" >"${ts%.ts}.ffprobe.json"
}

# H.264: closed GOP of 25, no scene-cut keyframes, B-frames so PTS != DTS.
ffmpeg -v error -y "${inputs[@]}" \
  -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p \
  -g "$gop" -keyint_min "$gop" -sc_threshold 0 -bf 2 \
  -b:v 350k -maxrate 400k -bufsize 400k \
  -x264-params "open-gop=0:scenecut=0:rc-lookahead=10" -threads 1 \
  "${audio[@]}" "${mux[@]}" "$out/h264-aac-1s-gop.ts"
make_oracle "$out/h264-aac-1s-gop.ts"

# H.265: same shape; x265 single-threaded (pools=none, frame-threads=1).
encoders=$(ffmpeg -hide_banner -encoders 2>/dev/null)
if [[ $encoders == *libx265* ]]; then
  ffmpeg -v error -y "${inputs[@]}" \
    -c:v libx265 -preset veryfast -pix_fmt yuv420p \
    -g "$gop" -keyint_min "$gop" -sc_threshold 0 -bf 2 \
    -b:v 350k -maxrate 400k -bufsize 400k \
    -x265-params "log-level=error:pools=none:frame-threads=1:keyint=${gop}:min-keyint=${gop}:scenecut=0:open-gop=0:rc-lookahead=10" \
    -tag:v hvc1 \
    "${audio[@]}" "${mux[@]}" "$out/h265-aac-1s-gop.ts"
  make_oracle "$out/h265-aac-1s-gop.ts"
else
  echo "make-fixtures: ffmpeg has no libx265; skipping the H.265 fixture" >&2
fi

ls -l "$out"
