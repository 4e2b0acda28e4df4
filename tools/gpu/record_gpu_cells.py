"""Run only the `#| gpu` cells of notebooks, in order, and save their outputs into the notebooks (on a GPU machine).

`tools/run_nbs.py` skips these cells and CI never runs them; this is how their recorded outputs are made. The notebook's
first code cell runs first (an experiment notebook imports there); a library notebook's `gpu` cells carry their own imports.
Other cells keep their outputs. Stops at the first error without writing.

    python tools/gpu/record_gpu_cells.py experiments/smollm2-decision-recipe/smollm2-decision-recipe.ipynb
"""
import sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.process import extract_directives


def is_gpu(cell):
    return cell.cell_type == 'code' and 'gpu' in extract_directives(cell, remove=False)


def run(fn):
    fn = Path(fn).resolve(); t = time.time()
    nb = read_nb(fn)
    n = sum(map(is_gpu, nb.cells))
    sh = CaptureShell(fn); sh.set_path(fn.parent)
    first = next((c for c in nb.cells if c.cell_type == 'code'), None)  # the imports
    sh.run_all(nb, exc_stop=True, preproc=lambda c: not (is_gpu(c) or c is first))
    write_nb(nb, fn)
    print(f'{fn.name}: {n} gpu cells ran in {time.time() - t:.0f}s')


if __name__ == '__main__':
    for f in sys.argv[1:]: run(f)
