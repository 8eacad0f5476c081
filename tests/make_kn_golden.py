#!/usr/bin/env python3
"""Write tests/golden/kn3.arpa, the trigram model KenLM's lmplz estimates from the text of
tests/kn_text.py; tests/test_ngram.py checks rnncli's estimate against it, n-gram by n-gram.

Needs KenLM (run once; rnncli never uses it), built from https://github.com/kpu/kenlm, then

    python tests/make_kn_golden.py [KENLM_BIN]        # default ~/kenlm/bin

lmplz's options: -o 3, nothing else (no pruning, no fallback discounts: the text is made so that
the formula applies).
"""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kn_text import kn_lines

bin_ = Path(sys.argv[1] if len(sys.argv) > 1 else Path.home() / "kenlm" / "bin")
out = Path(__file__).resolve().parent / "golden" / "kn3.arpa"
text = "\n".join(kn_lines()) + "\n"
arpa = subprocess.run([str(bin_ / "lmplz"), "-o", "3", "-S", "100M"], input=text, text=True,
                      capture_output=True, check=True).stdout
out.write_text(arpa)
print(f"{out}: {len(arpa.splitlines())} lines")
