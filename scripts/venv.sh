# Sourced by scripts/run and scripts/test: make .venv, install the given requirements file
# when it changed since the last install, and put .venv/bin first on PATH.
requirements=$1
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $python"
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$requirements")"
digest_of() { cat "$1" requirements.txt requirements-ocr.txt constraints.txt | sha256sum | cut -d' ' -f1; }
installed() { [ "$(cat ".venv/.installed-$(basename "$1")" 2>/dev/null)" = "$(digest_of "$1")" ]; }
digest=$(digest_of "$requirements")
# requirements-dev.txt includes requirements.txt: the tests' .venv runs the app as it is.
if ! installed "$requirements" && ! { [ "$requirements" = requirements.txt ] && installed requirements-dev.txt; }; then
  echo "Installing $requirements into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$requirements" -c constraints.txt
  # The OCR package without its own dependencies (requirements-ocr.txt says why).
  .venv/bin/python -m pip install --quiet --no-deps -r requirements-ocr.txt -c constraints.txt
  echo "$digest" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
