"""Fake AffectGPT `inference_sample.py`: same command-line flags as the real script, no model.

Stands in for model weights that cannot exist on a test machine. It answers from its inputs:
the audio's length (read from the wav) chooses the emotion, the epoch is echoed, and
`--outside_user_message` switches to a description. A subtitle containing CRASH fails the way
a real run can (traceback on stderr, exit status 1); one containing SLOW hangs (for timeouts).
Every call is appended to calls.log in the working directory (the checkout).
"""
import argparse
import os
import sys
import time
import wave

parser = argparse.ArgumentParser(description="AffectGPT inference on one sample (fake)")
parser.add_argument("--cfg-path", required=True)
parser.add_argument("--options", nargs="+", default=[])
parser.add_argument("--zeroshot", action="store_true")
parser.add_argument("--video_path", required=True)
parser.add_argument("--audio_path", required=True)
parser.add_argument("--subtitle", default="")
parser.add_argument("--outside_user_message", default=None)
args = parser.parse_args()

with open("calls.log", "a", encoding="utf-8") as log:
    log.write(os.path.basename(args.video_path) + "\n")

print("Initializing Chat")
print(f"Loading config {args.cfg_path}")
if not os.path.isfile(args.cfg_path):
    sys.exit(f"FileNotFoundError: {args.cfg_path}")
options = dict(item.split("=", 1) for item in args.options)
epoch = options.get("inference.test_epoch", "60")
for path in (args.video_path, args.audio_path):
    if not os.path.isfile(path):
        print(f"Traceback (most recent call last):\nFileNotFoundError: {path}", file=sys.stderr)
        sys.exit(1)
if "CRASH" in args.subtitle:
    print("Traceback (most recent call last):\n  File \"inference_sample.py\", line 90, in <module>", file=sys.stderr)
    print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", file=sys.stderr)
    sys.exit(1)
if "SLOW" in args.subtitle:
    time.sleep(60)
with wave.open(args.audio_path, "rb") as audio:
    seconds = audio.getnframes() / audio.getframerate()
emotion = "happy, relaxed" if seconds >= 1.0 else "calm"
print(f"Load checkpoint epoch {epoch} ... Initialization Finished")
if args.outside_user_message:
    device = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    print(f"###Human: {args.outside_user_message} ###Assistant: In the text, the person says "
          f"'{args.subtitle}'. The audio lasts {seconds:.1f} seconds and sounds {emotion.split(',')[0]}; "
          f"epoch {epoch}, device {device}.")
else:
    print(f"The character's emotional state is {emotion}, and epoch{epoch}.")
