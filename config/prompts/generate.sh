#!/bin/sh
# Regenerates Switchboard's demo prompts: 8 kHz mono PCM16 WAV, as the media engine loads them
# (crates/media: <name>.wav, names may contain '/').
#
#   apt-get install -y espeak-ng sox    # Debian
#   config/prompts/generate.sh          # from anywhere; writes next to this script
#
# Voice: espeak-ng en-us, a little faster than its default so the set stays small; leading and
# trailing silence is trimmed (the players add pauses where they are wanted), level normalised
# to -3 dBFS. Music on hold: a soft four-chord sine arpeggio made with sox synth, looped by the
# player. Names follow config/ivr/*.toml and crates/media/src/announce.rs (Asterisk-style
# digits/ and queue/ clips, so a professionally recorded set can replace them file for file).
set -eu
cd "$(dirname "$0")"

VOICE=${VOICE:-en-us}
SPEED=${SPEED:-175}

say() { # say <name> <text>
    mkdir -p "$(dirname "$1.wav")"
    espeak-ng -v "$VOICE" -s "$SPEED" -w /tmp/switchboard-prompt.wav "$2"
    sox /tmp/switchboard-prompt.wav -r 8000 -c 1 -b 16 -e signed-integer "$1.wav" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse norm -3
}

# IVR flows (config/ivr/main.toml, survey.toml)
say welcome "Welcome to Switchboard."
say press-1-sales-2-support "For sales, press 1. For support, press 2."
say invalid "Sorry, that is not a valid choice."
say no-input "Sorry, we did not hear your choice."
say survey-rate-1-5 "Please rate this call from 1 to 5, 5 being excellent."
say thank-you "Thank you. Goodbye."
say goodbye "Goodbye."

# Spoken numbers (announce::number_clips)
n=0
for w in zero one two three four five six seven eight nine ten eleven twelve thirteen \
         fourteen fifteen sixteen seventeen eighteen nineteen; do
    say "digits/$n" "$w"
    n=$((n + 1))
done
for t in 20:twenty 30:thirty 40:forty 50:fifty 60:sixty 70:seventy 80:eighty 90:ninety; do
    say "digits/${t%%:*}" "${t#*:}"
done
say digits/hundred "hundred"
say digits/thousand "thousand"
say digits/million "million"

# Queue announcements (announce::position_announcement, wait_announcement)
say queue/you-are-caller-number "You are caller number"
say queue/estimated-wait "Your estimated wait is"
say queue/minute "minute"
say queue/minutes "minutes"
say queue/less-than-a-minute "less than a minute"
say queue/thank-you-for-holding "Thank you for holding. An agent will be with you shortly."

# Music on hold: C, A minor, F, G arpeggios (0.8 s each), soft sines with short fades.
mkdir -p moh
parts=""
i=0
for chord in "C4 E4 G4 C5" "A3 C4 E4 A4" "F3 A3 C4 F4" "G3 B3 D4 G4"; do
    for note in $chord; do
        sox -n -r 8000 -c 1 -b 16 "/tmp/switchboard-moh-$i.wav" \
            synth 0.2 sine "$note" fade q 0.02 0.2 0.06 vol 0.25
        parts="$parts /tmp/switchboard-moh-$i.wav"
        i=$((i + 1))
    done
done
# shellcheck disable=SC2086
sox $parts -r 8000 -c 1 -b 16 -e signed-integer moh/default.wav
rm -f /tmp/switchboard-moh-*.wav /tmp/switchboard-prompt.wav
