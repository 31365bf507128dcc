"""Write the FAD reference statistics that `latentaudio evaluate` uses with no corpus at hand:
the mean and covariance of the aisfx and latentaudio-CLAP embeddings of a corpus's test split
(first 10 s of each clip), as pytorch-fid ships its Inception statistics.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fad_reference.py \
        --data ~/latentaudio-corpus/v2 --corpus-name "corpus v2"
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import numpy as np
    from tqdm import tqdm

    from latentaudio.audio import load_audio
    from latentaudio.data.sources import load_clips
    from latentaudio.evaluation.clap import DEFAULT_CLAP, LatentAudioClap
    from latentaudio.evaluation.fad import REFERENCE_STATISTICS, save_statistics, weights_digest
    from latentaudio.evaluation.report import Scorer

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="corpus folder or manifest")
    parser.add_argument("--corpus-name", required=True, help='recorded, e.g. "corpus v2"')
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, default=REFERENCE_STATISTICS)
    args = parser.parse_args()

    clips, root, _ = load_clips(args.data)
    chosen = [clip for clip in clips if clip.split == args.split]
    scorer = Scorer(clap=LatentAudioClap.from_pretrained(DEFAULT_CLAP))
    began = time.perf_counter()
    embeddings: dict[str, list] = {}
    for clip in tqdm(chosen, desc=f"{args.split} embeddings"):
        audio = load_audio(clip.resolve(root), duration_seconds=10.0)
        for name, vector in scorer.embed(audio).items():
            embeddings.setdefault(name, []).append(vector)
    stacked = {name: np.stack(values) for name, values in embeddings.items()}
    about = {"corpus": args.corpus_name, "split": args.split, "clips": len(chosen),
             "seconds_per_clip": 10.0, "embeddings": sorted(stacked),
             "clap_digest": weights_digest(DEFAULT_CLAP),
             "kinds": {kind: sum(c.kind == kind for c in chosen) for kind in
                       sorted({c.kind for c in chosen})}}
    save_statistics(args.out, stacked, about)
    size = sum(p.stat().st_size for p in args.out.iterdir()) / 1e6
    print(f"{len(chosen)} clips embedded in {time.perf_counter() - began:.0f} s; "
          f"wrote {args.out} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
