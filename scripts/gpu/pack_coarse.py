"""Pack what a GPU needs to train the token backend's coarse model into one folder small enough
to travel (the device tool carries at most 64 MiB): every clip's codes, each song crop's lyric
track and sung phonemes, and the captions' MiniLM states.

    .venv/bin/python scripts/gpu/pack_coarse.py \
        --data ~/latentaudio-corpus/songs-stems \
               ~/latentaudio-corpus/v2music/manifest-music600.jsonl \
        --run ~/runs/coarse-sung --vocal-tokens ~/runs/vocal-tokens --out gpu-pack-coarse

- ``codes.safetensors``: every train and valid clip's whole codes, int16, concatenated along
  time with offsets: the first level of the mix's codebooks, or with ``--vocal-tokens`` the
  track codes (band, then the voice's levels; :mod:`latentaudio.tokens.tracks`). They come from
  the run folder's cache (``train coarse`` fills it); clips not in it are coded now.
- ``crops.safetensors``: the lyric ids (``LYRIC_IDS``) and the phoneme of each frame of the song
  crops that start every ``--stride`` seconds of each train song, and of the fixed held-out crops
  the CPU run validates on (the same clips, from their starts), all made by
  :meth:`~latentaudio.data.dataset.ClipDataset.item_at`, as training makes them: the GPU needs no
  espeak-ng. Clips without words (music) are cropped anywhere there.
- ``text.safetensors``, ``captions.json``, ``clips.jsonl`` and ``wheels/`` as ``pack.py``'s.

``scripts/gpu/train_coarse.py`` reads the folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pack import caption_list, clip_row, finish_pack, pack_captions


def main() -> None:
    from safetensors.torch import save_file
    from tqdm import tqdm

    from latentaudio.data.dataset import ClipDataset, token_cache
    from latentaudio.data.sources import load_clip_sets
    from latentaudio.train.runs import LYRIC_IDS, held_out_crops

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, nargs="+",
                        help="the sources the CPU run trains on (the same list)")
    parser.add_argument("--run", type=Path, required=True,
                        help="a 'train coarse' run folder: its tracks-cache/tokens-cache is read")
    parser.add_argument("--codec", type=Path, default=Path("checkpoints/latentaudio-small"))
    parser.add_argument("--tokens", type=Path, default=Path("checkpoints/latentaudio-ar/tokens"))
    parser.add_argument("--vocal-tokens", type=Path, default=None,
                        help="the voice's codebooks: pack two streams (as 'train coarse')")
    parser.add_argument("--vocal-levels", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("gpu-pack-coarse"))
    parser.add_argument("--stride", type=float, default=0.5,
                        help="seconds between the packed starts of a song's crops")
    parser.add_argument("--seconds", type=float, default=10.0, help="crop length, as the CPU's")
    parser.add_argument("--text-tokens", type=int, default=64,
                        help="MiniLM states kept per caption (the CPU encoder's max_tokens)")
    args = parser.parse_args()

    clips, root, report = load_clip_sets(args.data)
    clips = list({clip.id: clip for clip in clips if clip.split in ("train", "valid")}.values())
    print(f"data: {report}")
    if args.vocal_tokens is not None:
        from latentaudio.tokens.tracks import track_cache

        features = track_cache(args.codec, args.tokens, args.vocal_tokens, args.vocal_levels,
                               args.run / "tracks-cache")
    else:
        features = token_cache(args.codec, args.tokens, args.run / "tokens-cache")
    fps = features.frames_per_second
    frames = round(args.seconds * fps)
    captions = caption_list(clips)
    index = {caption: i for i, caption in enumerate(captions)}

    parts, offsets, rows, held = [], [0], [], {}
    for clip in tqdm(clips, desc="codes"):
        held[clip.id] = codes = features.get(clip, root)
        if args.vocal_tokens is None:
            codes = codes[:1]  # the first level, as CoarseTask reads it
        parts.append(codes.to(torch.int16))
        offsets.append(offsets[-1] + codes.shape[-1])
        rows.append(clip_row(clip, index) | {"sung": bool(clip.extra.get("words"))})

    train = [i for i, clip in enumerate(clips) if clip.split == "train" and rows[i]["sung"]]
    # The crops' lyric tracks and sung frames, made by the dataset from the codes read above
    # (not from the cache's files again, once per crop).
    in_memory = SimpleNamespace(get=lambda clip, _root: held[clip.id], frames_per_second=fps)
    dataset = ClipDataset(clips, root, seconds=args.seconds, features=in_memory,
                          lyric_ids=LYRIC_IDS, sung=True)
    crop_clips, crop_starts, lyrics, sung = [], [], [], []
    for i in tqdm(train, desc="song crops"):
        spare = max(0.0, clips[i].seconds - args.seconds)
        for k in range(int(spare / args.stride) + 1):
            item = dataset.item_at(i, k * args.stride)
            crop_clips.append(i)
            crop_starts.append(round(k * args.stride * fps))  # in frames, as the crop is cut
            lyrics.append(item["lyrics"])
            sung.append(item["sung"])
    held_out = held_out_crops(clips, root, SimpleNamespace(seconds=args.seconds), in_memory,
                              lyric_ids=LYRIC_IDS, sung=True)
    position = {clip.id: i for i, clip in enumerate(clips)}
    valid_clips = [position[clip.id] for clip in held_out.clips] if held_out is not None else []
    valid = [held_out[j] for j in range(len(valid_clips))]

    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"frames_per_second": str(fps), "frames": str(frames)}
    save_file({"codes": torch.cat(parts, dim=-1).contiguous(),
               "offsets": torch.tensor(offsets, dtype=torch.int64)},
              str(args.out / "codes.safetensors"), metadata=meta)
    save_file({"clip": torch.tensor(crop_clips, dtype=torch.int32),
               "start": torch.tensor(crop_starts, dtype=torch.int32),
               "lyrics": torch.stack(lyrics).to(torch.uint8),
               "sung": torch.stack(sung).to(torch.uint8),
               "valid_clip": torch.tensor(valid_clips, dtype=torch.int32),
               "valid_lyrics": torch.stack([v["lyrics"] for v in valid]).to(torch.uint8),
               "valid_sung": torch.stack([v["sung"] for v in valid]).to(torch.uint8)},
              str(args.out / "crops.safetensors"), metadata=meta)
    pack_captions(captions, args.out, args.text_tokens)
    size = finish_pack(args.out, rows)
    print(f"{len(clips)} clips ({offsets[-1] / fps / 3600:.2f} h of codes, {len(parts[0])} "
          f"streams), {len(crop_clips)} song crops, {len(valid)} held-out crops, "
          f"{len(captions)} captions: {args.out} is {size:.1f} MiB (limit 64)")


if __name__ == "__main__":
    main()
