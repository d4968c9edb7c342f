#!/usr/bin/env bash
# Tests of the command-line tool, run on the built binary (`make test-cli` builds it first):
# train, resume, eval, predict, info, shuffle, bad arguments, JSON lines when piped, a
# terminal's progress lines, and Ctrl-C. Data are small .npy files made with numpy.
#
#   Tests/cli/run.sh [path/to/minibatch-cli]
#
# Ends with a line "cli: N passed, N failed"; exits non-zero if any check failed.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
cli=${1:-${MINIBATCH_CLI:-$root/.build/release/minibatch-cli}}
[ -x "$cli" ] || { echo "no $cli: build it with 'swift build -c release --product minibatch-cli'"; exit 2; }
# The tests run in a temporary folder: a path relative to the repository is made absolute.
cli=$(cd "$(dirname "$cli")" && pwd)/$(basename "$cli")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $1"; }
fail() { failed=$((failed + 1)); echo "FAILED: $1"; }
# check NAME COMMAND...: passes when the command succeeds.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# refused NAME NEEDLE ARGS...: the tool exits non-zero and its output names NEEDLE.
refused() {
    local name=$1 needle=$2; shift 2
    local out rc
    out=$("$cli" "$@" 2>&1); rc=$?
    if [ $rc -ne 0 ] && grep -qF -- "$needle" <<<"$out"; then
        pass "$name (exit $rc: $(head -1 <<<"$out"))"
    else
        fail "$name: exit $rc, expected a message naming $needle, got: $out"
    fi
}
py() { python3 -c "$@"; }

# Data: two classes from 6 features, a validation set, and regression targets.
py '
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 6)).astype(np.float32)
y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] > 0).astype(np.int64)
np.save("x.npy", X); np.save("y.npy", y)
np.save("xv.npy", X[:600]); np.save("yv.npy", y[:600].astype(np.uint8))
np.save("yr.npy", (X[:, :3] @ np.array([[1.0, 0.5], [2.0, -1.0], [0.5, 0.25]])).astype(np.float32))
'

common=(--x x.npy --y y.npy --batch-size 64 --optimizer adam --learning-rate 0.01 --schedule cosine --cosine-period 6 --seed 3 --threads 1)

# --- train, with JSON lines when standard output is a pipe
"$cli" train "${common[@]}" --hidden 16,8 --epochs 6 --validation-x xv.npy --validation-y yv.npy \
    --out full.mbm --history full.json >train.jsonl 2>train.err
check "train exits 0" test $? -eq 0
check "train writes one JSON object per line when piped: start, 6 epochs, end" py '
import json
lines = [json.loads(l) for l in open("train.jsonl")]
assert [l["event"] for l in lines] == ["start"] + ["epoch"] * 6 + ["end"], lines
e = lines[1:7]
assert [l["epoch"] for l in e] == list(range(1, 7)) and e[-1]["epochs_trained"] == 6
for l in e:
    for key in ("cost", "validation_cost", "validation_score", "examples_per_second", "elapsed_seconds", "remaining_seconds", "learning_rate"):
        assert isinstance(l[key], float), (key, l)
    assert l["examples"] == 3000 and l["batches"] == 47 and l["batch_size"] == 64
assert lines[-1]["status"] == "completed" and lines[-1]["model"] == "full.mbm"
assert e[-1]["validation_score"] > 0.9, e[-1]
h = json.load(open("full.json"))
assert len(h["batch_costs"]) == 6 * 47 and len(h["epoch_costs"]) == 6 and len(h["validation_costs"]) == 6
assert [round(c, 12) for c in h["epoch_costs"]] == [round(l["cost"], 12) for l in e]
'
check "train's summary goes to standard error when standard output is JSON" grep -q "model saved to full.mbm" train.err

# --- resume: 3 epochs, then 3 more, is the 6-epoch model, bit for bit
"$cli" train "${common[@]}" --hidden 16,8 --epochs 3 --validation-x xv.npy --validation-y yv.npy --out half.mbm --progress none >/dev/null 2>&1
"$cli" resume half.mbm "${common[@]}" --epochs 3 --validation-x xv.npy --validation-y yv.npy --out resumed.mbm --progress none >/dev/null 2>&1
check "resume exits 0" test $? -eq 0
check "train 3 + resume 3 = train 6, byte for byte" cmp -s full.mbm resumed.mbm
check "info: epochs trained add up (3 + 3)" py '
import json, subprocess, sys
half = json.loads(subprocess.check_output([sys.argv[1], "info", "half.mbm", "--json"]))
done = json.loads(subprocess.check_output([sys.argv[1], "info", "resumed.mbm", "--json"]))
assert half["epochs_trained"] == 3 and done["epochs_trained"] == 6, (half, done)
assert done["optimizer_state"] == "adam" and done["optimizer_step"] == 6 * 47, done
assert done["layer_sizes"] == [6, 16, 8, 2] and done["loss"] == "cross-entropy" and done["parameters"] == 6*16+16 + 16*8+8 + 8*2+2
assert done["hidden_activations"] == ["relu", "relu"] and done["has_training_state"]
' "$cli"
check "info prints a readable summary" bash -c "'$cli' info resumed.mbm | grep -q 'update rule: adam, 282 updates applied'"
refused "resume with another rule is refused (its state would be dropped)" "--optimizer" resume half.mbm --x x.npy --y y.npy --optimizer sgd --out other.mbm

# --- eval and predict, against numpy and the Python binding
"$cli" predict full.mbm --x x.npy --out p.npy >/dev/null && "$cli" predict full.mbm --x x.npy --out c.npy --classes >/dev/null
check "predict exits 0" test $? -eq 0
"$cli" eval full.mbm --x x.npy --y y.npy --json >eval.json
check "eval exits 0" test $? -eq 0
check "predict writes (m, 2) probabilities and int32 classes; eval's cost and accuracy match them" py '
import json, numpy as np
p, c, y = np.load("p.npy"), np.load("c.npy"), np.load("y.npy")
assert p.shape == (3000, 2) and p.dtype == np.float32 and c.shape == (3000,) and c.dtype == np.int32
assert np.allclose(p.sum(1), 1, atol=1e-5) and (p.argmax(1) == c).all()
e = json.load(open("eval.json"))
assert e["examples"] == 3000 and abs(e["accuracy"] - (c == y).mean()) < 1e-12, e
cost = -np.log(p[np.arange(3000), y].astype(np.float64)).mean()
assert abs(e["cost"] - cost) < 1e-4, (e, cost)
assert e["r2"] is None
'
if PYTHONPATH=$root/bindings/python python3 -c 'import minibatch_gd as mb; mb.version()' >/dev/null 2>&1; then
    check "predict equals the Python binding's predict, bit for bit" env PYTHONPATH="$root/bindings/python" python3 -c '
import numpy as np, minibatch_gd as mb
net = mb.Network.load("full.mbm")
assert (net.predict(np.load("x.npy")) == np.load("p.npy")).all()
assert (net.predict_classes(np.load("x.npy")) == np.load("c.npy")).all()
'
    "$cli" train --x x.npy --y y.npy --hidden 16 --activation selu --init lecun --epochs 2 --batch-size 64 \
        --learning-rate 0.01 --seed 3 --threads 1 --out lecun.mbm --progress none >/dev/null 2>&1
    check "--init lecun (0.9.0): the Python binding's init='lecun' trains to the same weights, bit for bit" \
        env PYTHONPATH="$root/bindings/python" python3 -c '
import numpy as np, minibatch_gd as mb
X, y = np.load("x.npy"), np.load("y.npy").astype(np.int32)
net = mb.Network([6, 16, 2], hidden_activation="selu", init="lecun", seed=3)
net.train(X, y, epochs=2, batch_size=64, learning_rate=0.01, seed=3, threads=1)
cli = mb.Network.load("lecun.mbm")
assert (cli.get_parameters() == net.get_parameters()).all()
'
else
    echo "skipped: the Python binding's predict and --init lecun (minibatch_gd does not import: build libminibatch.so)"
fi
refused "--init names its rules when refused" "lecun" train --x x.npy --y y.npy --init orthogonal --out bad.mbm
"$cli" train --x x.npy --y yr.npy --hidden 8 --epochs 30 --batch-size 32 --learning-rate 0.05 --out reg.mbm --progress none >/dev/null 2>&1
check "eval of an mse model reports R^2 (each output's 1 - residual / total sum of squares, averaged)" py '
import json, subprocess, sys, numpy as np
e = json.loads(subprocess.check_output([sys.argv[1], "eval", "reg.mbm", "--x", "x.npy", "--y", "yr.npy", "--json"]))
subprocess.check_call([sys.argv[1], "predict", "reg.mbm", "--x", "x.npy", "--out", "pr.npy"], stdout=subprocess.DEVNULL)
p, y = np.load("pr.npy").astype(np.float64), np.load("yr.npy").astype(np.float64)
r2 = np.mean(1 - ((p - y) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0))  # r2_score, outputs averaged
assert e["accuracy"] is None and abs(e["r2"] - r2) < 1e-4 and r2 > 0.9, (e, r2)
' "$cli"
check "eval: R^2 of constant targets is scikit-learn's r2_score, 0 for inexact predictions (it was 1.8e14)" py '
import json, subprocess, sys, numpy as np
np.save("yc.npy", np.full(np.load("yr.npy").shape, 0.1, np.float32))
e = json.loads(subprocess.check_output([sys.argv[1], "eval", "reg.mbm", "--x", "x.npy", "--y", "yc.npy", "--json"]))
assert e["r2"] == 0.0, e
' "$cli"
py '
import numpy as np
X = np.load("x.npy").astype(np.float64)
rate = np.exp(X[:, :2] @ np.array([0.4, -0.3]) + 0.7)
np.save("yp.npy", np.random.default_rng(1).poisson(rate).astype(np.float32).reshape(-1, 1))
np.save("yneg.npy", -np.load("yp.npy"))
'
"$cli" train --x x.npy --y yp.npy --loss poisson --hidden 8 --epochs 20 --batch-size 32 --learning-rate 0.01 \
    --optimizer adam --out pois.mbm --progress none >/dev/null 2>&1
check "--loss poisson: eval reports R^2 of the outputs e^z, predict writes them, info names the loss" py '
import json, subprocess, sys, numpy as np
e = json.loads(subprocess.check_output([sys.argv[1], "eval", "pois.mbm", "--x", "x.npy", "--y", "yp.npy", "--json"]))
subprocess.check_call([sys.argv[1], "predict", "pois.mbm", "--x", "x.npy", "--out", "pp.npy"], stdout=subprocess.DEVNULL)
p, y = np.load("pp.npy").astype(np.float64), np.load("yp.npy").astype(np.float64)
r2 = 1 - ((p - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum()
dev = np.mean(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / p), 0) - y + p)
assert (p > 0).all() and e["accuracy"] is None and abs(e["r2"] - r2) < 1e-4 and r2 > 0.1, (e, r2)
assert abs(e["cost"] - dev) < 1e-4 * dev, (e, dev)
info = subprocess.check_output([sys.argv[1], "info", "pois.mbm"], text=True)
assert "poisson" in info, info
' "$cli"
refused "--loss poisson refuses negative targets, naming --y" "--y: y file 'yneg.npy'[0][0] = -" train --x x.npy --y yneg.npy \
    --loss poisson --epochs 1 --progress none --out neg.mbm
refused "--monitor validation-score needs a validation set, naming --monitor" "--monitor: monitor validation-score needs a validation set" \
    train --x x.npy --y y.npy --monitor validation-score --patience 2 --epochs 3 --progress none --out mon.mbm
"$cli" train --x x.npy --y y.npy --hidden 8 --epochs 40 --batch-size 64 --learning-rate 0.5 --validation-x xv.npy \
    --validation-y yv.npy --monitor validation-score --patience 3 --out mon.mbm --history mon.json --progress none >/dev/null 2>&1
check "--monitor validation-score: stops by the score rule, keeps the best score's weights, info says so" py '
import json, subprocess, sys
h = json.load(open("mon.json"))
scores = [e["validation_score"] for e in h["epochs"]] if "epochs" in h else h["validation_scores"]
best, count, stop = -1.0, 0, None
for i, v in enumerate(scores):
    count = 0 if v > best else count + 1
    best = max(best, v)
    if count >= 3:
        stop = i + 1
        break
assert stop == len(scores) < 40, (stop, scores)
e = json.loads(subprocess.check_output([sys.argv[1], "eval", "mon.mbm", "--x", "xv.npy", "--y", "yv.npy", "--json"]))
assert e["accuracy"] == max(scores), (e, scores)
info = json.loads(subprocess.check_output([sys.argv[1], "info", "mon.mbm", "--json"]))
assert info["monitor"] == "validation-score" and info["best_validation_score"] == max(scores), info
' "$cli"
"$cli" resume mon.mbm --x x.npy --y y.npy --batch-size 64 --learning-rate 0.5 --validation-x xv.npy --validation-y yv.npy \
    --patience 3 --epochs 1 --out mon2.mbm >resume.jsonl 2>/dev/null
check "resume goes on watching the file's monitor (validation score) without --monitor" py '
import json, subprocess, sys
start = json.loads(open("resume.jsonl").readline())
assert start.get("monitor") == "validation-score", start
info = json.loads(subprocess.check_output([sys.argv[1], "info", "mon2.mbm", "--json"]))
assert info["monitor"] == "validation-score", info
' "$cli"

# --- dropout: the start event names it; 2 epochs + resume 2 = 4, byte for byte (the masks
# follow the epochs trained); without it the model differs; out of range is refused
drop=(--x x.npy --y y.npy --batch-size 64 --seed 3 --threads 1)
"$cli" train "${drop[@]}" --hidden 16,8 --dropout 0.3 --epochs 4 --out drop4.mbm >drop.jsonl 2>/dev/null
"$cli" train "${drop[@]}" --hidden 16,8 --dropout 0.3 --epochs 2 --out drop2.mbm --progress none >/dev/null 2>&1
"$cli" resume drop2.mbm "${drop[@]}" --dropout 0.3 --epochs 2 --out drop22.mbm --progress none >/dev/null 2>&1
"$cli" train "${drop[@]}" --hidden 16,8 --epochs 4 --out nodrop.mbm --progress none >/dev/null 2>&1
check "--dropout: named in the start event; train 2 + resume 2 = train 4; another model without it" bash -c '
python3 -c "import json; s = json.loads(open(\"drop.jsonl\").readline()); assert s.get(\"dropout\") == 0.3, s" &&
cmp -s drop4.mbm drop22.mbm && ! cmp -s drop4.mbm nodrop.mbm'
refused "--dropout 1 is refused, naming --dropout" "--dropout" train --builtin moons --out m.mbm --dropout 1
# --- label smoothing: named in the start event, refused for the squared error
"$cli" train "${drop[@]}" --hidden 16 --label-smoothing 0.1 --epochs 2 --out ls.mbm >ls.jsonl 2>/dev/null
check "--label-smoothing: trains, and the start event names it" py '
import json; s = json.loads(open("ls.jsonl").readline()); assert s.get("label_smoothing") == 0.1, s'
refused "--label-smoothing with --loss mse is refused, naming --label-smoothing" "--label-smoothing: label_smoothing 0.1 needs" \
    train --x x.npy --y yr.npy --loss mse --label-smoothing 0.1 --out m.mbm
# --- subnormals (0.12.0): --keep-denormals is named in the start event (the default is not);
# on X scaled into the subnormals (x 2^-130) the first layer learns only with it (flushed,
# the batches read X as 0); on X itself both give the same model, byte for byte
py 'import numpy as np; np.save("xs.npy", (np.load("x.npy") * np.float32(2.0 ** -130)).astype(np.float32))'
for data in x xs; do
    "$cli" train --x $data.npy --y y.npy --hidden 16 --epochs 2 --seed 5 --threads 1 --keep-denormals --out kd-$data.mbm >kd-$data.jsonl 2>/dev/null
    "$cli" train --x $data.npy --y y.npy --hidden 16 --epochs 2 --seed 5 --threads 1 --out fd-$data.mbm >fd-$data.jsonl 2>/dev/null
done
check "--keep-denormals: named in the start event; the same model on X, another on X x 2^-130" py '
import json
s = json.loads(open("kd-x.jsonl").readline()); assert s.get("keep_denormals") is True, s
s = json.loads(open("fd-x.jsonl").readline()); assert "keep_denormals" not in s, s
assert open("kd-x.mbm", "rb").read() == open("fd-x.mbm", "rb").read()
import platform
# (subnormals are flushed on x86-64 only: elsewhere both keep them)
assert (open("kd-xs.mbm", "rb").read() != open("fd-xs.mbm", "rb").read()) == (platform.machine() == "x86_64")
'
# --- the activations of 0.5.0: trained, saved, named by info and the start event
"$cli" train --builtin moons --hidden 16 --activation leaky-relu --epochs 2 --out leaky.mbm >leaky.jsonl 2>/dev/null
check "--activation leaky-relu / elu / selu / gelu: trained and saved, info and the start event name them" bash -c '
"$0" train --builtin moons --hidden 16,8 --activation selu --epochs 2 --out selu.mbm --progress none &&
"$0" train --builtin moons --hidden 16 --activation gelu --epochs 2 --out gelu.mbm --progress none &&
"$0" info gelu.mbm --json | grep -q "\"gelu\"" &&
"$0" train --builtin moons --hidden 16 --activation elu --epochs 2 --out elu.mbm --progress none &&
"$0" info leaky.mbm --json | grep -q "\"leaky-relu\"" && "$0" info selu.mbm --json | grep -q "\"selu\"" &&
"$0" info elu.mbm --json | grep -q "\"elu\"" && grep -q "\"activation\": \"leaky-relu\"" leaky.jsonl' "$cli"
refused "--activation mish is refused, naming --activation" "--activation" train --builtin moons --activation mish --out m.mbm
refused "--dropout without a hidden layer is refused, naming --dropout" "--dropout: dropout 0.5 needs a hidden layer" train --builtin moons --hidden "" \
    --out m.mbm --dropout 0.5

# --- the rules of 0.6.0: resume is exact (the rule taken from the model file), info names them
for rule in "adagrad --epsilon 1e-6 --lr-decay 0.01 --initial-accumulator 0.1" "adamax --beta2 0.99" "amsgrad --beta2 0.9" "adamw-amsgrad --weight-decay 0.1" \
            "adadelta --rho 0.95 --epsilon 1e-5"; do
    set -- $rule
    "$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer $rule --epochs 4 --out "$1-4.mbm" --progress none >/dev/null 2>&1
    "$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer $rule --epochs 2 --out "$1-2.mbm" --progress none >/dev/null 2>&1
    "$cli" resume "$1-2.mbm" --builtin moons --batch-size 64 --seed 2 "${@:2}" --epochs 2 --out "$1-r.mbm" --progress none >/dev/null 2>&1
    check "--optimizer $*: train 2 + resume 2 (the file's rule) = train 4, byte for byte; info names it" bash -c \
        'cmp -s "$1-4.mbm" "$1-r.mbm" && "$0" info "$1-r.mbm" --json | grep -q "\"optimizer_state\": \"$1\""' "$cli" "$1"
done
refused "--beta1 with adagrad is refused, naming the rules it belongs to" "--beta1 is a parameter of --optimizer adam or adamw or amsgrad or adamw-amsgrad or adamax or nadam or radam" \
    train --builtin moons --out m.mbm --optimizer adagrad --beta1 0.5
refused "--beta2 1 with adamax is the library's error, named" "--beta2" train --builtin moons --out m.mbm --optimizer adamax --beta2 1
refused "--lr-decay with adam is refused" "--lr-decay is a parameter of --optimizer adagrad" train --builtin moons --out m.mbm --optimizer adam --lr-decay 0.1
refused "--initial-accumulator -1 is the library's error, named" "--initial-accumulator" \
    train --builtin moons --out m.mbm --optimizer adagrad --initial-accumulator -1

# --- the rules of 0.7.0: NAdam, RAdam, RMSprop's centring and momentum: resume is exact (the
# rule and RMSprop's centring taken from the model file, its momentum given again), info
# names the form; a resume without the momentum, or without the centring, is refused
for rule in "nadam --momentum-decay 0.01" "radam --beta2 0.99" "rmsprop --momentum 0.5 --centered" "rmsprop --centered"; do
    set -- $rule
    tag=$(echo "$*" | tr -d ' .-')
    "$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer $rule --epochs 4 --out "$tag-4.mbm" --progress none >/dev/null 2>&1
    "$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer $rule --epochs 2 --out "$tag-2.mbm" --progress none >/dev/null 2>&1
    resumed=("${@:2}")
    [ "$*" = "rmsprop --centered" ] && resumed=()  # the centring comes from the file
    "$cli" resume "$tag-2.mbm" --builtin moons --batch-size 64 --seed 2 "${resumed[@]}" --epochs 2 --out "$tag-r.mbm" --progress none >/dev/null 2>&1
    check "--optimizer $*: train 2 + resume 2 = train 4, byte for byte; info names it" bash -c \
        'cmp -s "$1-4.mbm" "$1-r.mbm" && "$0" info "$1-r.mbm" --json | grep -q "\"optimizer_state\": \"$2\""' "$cli" "$tag" "$1"
done
check "info names RMSprop's form: text and JSON" bash -c '"$0" info rmspropmomentum05centered-r.mbm | grep -q "update rule: rmsprop --centered --momentum MU," &&
"$0" info rmspropmomentum05centered-r.mbm --json | grep -q "\"optimizer_state_options\": \[\"--centered\",\"--momentum\"\]"' "$cli"
refused "resume of RMSprop with momentum without --momentum is refused, naming --momentum" "pass --momentum" \
    resume rmspropmomentum05centered-2.mbm --builtin moons --out m.mbm
refused "resume of centred RMSprop with --optimizer rmsprop but not --centered is refused" "belongs to rmsprop --centered" \
    resume rmspropcentered-2.mbm --builtin moons --optimizer rmsprop --out m.mbm
"$cli" train --builtin moons --hidden 16 --optimizer rmsprop --epochs 1 --out rms.mbm --progress none >/dev/null 2>&1
refused "resume of plain RMSprop with --momentum is refused, naming the rule asked for" "--optimizer rmsprop --momentum MU: the model's state belongs to rmsprop (" \
    resume rms.mbm --builtin moons --momentum 0.9 --out m.mbm
# the schedules of 0.7.0: train 2 + resume 2 = train 4 (the schedule given again), the
# start event names it; refusals name the option
for sched in "multi-step --milestones 1,3,3 --gamma 0.5" "cosine-restarts --cosine-period 1 --restart-multiplier 2 --min-learning-rate 0.001"; do
    set -- $sched
    "$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer adam --schedule $sched --epochs 4 --out "$1-4.mbm" --progress none >/dev/null 2>&1
    "$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer adam --schedule $sched --epochs 2 --out "$1-2.mbm" --progress json >"$1-2.jsonl" 2>&1
    "$cli" resume "$1-2.mbm" --builtin moons --batch-size 64 --seed 2 --schedule $sched --epochs 2 --out "$1-r.mbm" --progress none >/dev/null 2>&1
    check "--schedule $*: train 2 + resume 2 = train 4, byte for byte; the start event names it" bash -c \
        'cmp -s "$1-4.mbm" "$1-r.mbm" && grep -q "\"schedule\": \"$1\"" "$1-2.jsonl"' "$cli" "$1"
done
refused "--milestones with cosine is refused" "--milestones is a parameter of --schedule multi-step" \
    train --builtin moons --out m.mbm --schedule cosine --milestones 3
refused "--milestones 3,x is refused, naming --milestones" "--milestones" train --builtin moons --out m.mbm --schedule multi-step --milestones 3,x
refused "--milestones 3,-1 is the library's error, named" "--milestones" train --builtin moons --out m.mbm --schedule multi-step --milestones 3,-1
refused "--restart-multiplier 0 is the library's error, named" "--restart-multiplier" \
    train --builtin moons --out m.mbm --schedule cosine-restarts --restart-multiplier 0
refused "--momentum-decay with adam is refused" "--momentum-decay is a parameter of --optimizer nadam" \
    train --builtin moons --out m.mbm --optimizer adam --momentum-decay 0.01
refused "--centered with adam is refused" "--centered is a parameter of --optimizer rmsprop" train --builtin moons --out m.mbm --optimizer adam --centered
refused "--momentum-decay -1 is the library's error, named" "--momentum-decay" train --builtin moons --out m.mbm --optimizer nadam --momentum-decay -1
refused "--momentum 1 with rmsprop is the library's error, named" "--momentum" train --builtin moons --out m.mbm --optimizer rmsprop --momentum 1

# --- the warm-up (0.6.0): across a resume, byte for byte; in the start event; refusals
"$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer adam --warmup-epochs 3 --warmup-start-factor 0.25 \
    --epochs 4 --out warm-4.mbm >warm.jsonl 2>/dev/null
"$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer adam --warmup-epochs 3 --warmup-start-factor 0.25 \
    --epochs 2 --out warm-2.mbm --progress none >/dev/null 2>&1
"$cli" resume warm-2.mbm --builtin moons --batch-size 64 --seed 2 --warmup-epochs 3 --warmup-start-factor 0.25 \
    --epochs 2 --out warm-r.mbm --progress none >/dev/null 2>&1
check "--warmup-epochs 3: train 2 + resume 2 = train 4, byte for byte; the epochs' rates warm up" py '
import json, subprocess
assert open("warm-4.mbm", "rb").read() == open("warm-r.mbm", "rb").read()
lines = [json.loads(l) for l in open("warm.jsonl")]
assert lines[0]["warmup_epochs"] == 3 and lines[0]["warmup_start_factor"] == 0.25, lines[0]
rates = [l["learning_rate"] for l in lines if l["event"] == "epoch"]
want = [0.01 * (0.25 + 0.75 * min(e, 3) / 3) for e in range(4)]
assert len(rates) == 4, rates
assert all(abs(r - w) <= 1e-6 * w for r, w in zip(rates, want)), (rates, want)
'
refused "--warmup-start-factor without --warmup-epochs is refused" "it needs --warmup-epochs >= 1" \
    train --builtin moons --out m.mbm --warmup-start-factor 0.5
refused "--warmup-start-factor 0 is the library's error, named" "--warmup-start-factor" \
    train --builtin moons --out m.mbm --warmup-epochs 2 --warmup-start-factor 0
refused "--warmup-epochs -1 is the library's error, named" "--warmup-epochs" train --builtin moons --out m.mbm --warmup-epochs -1
# --- a rate every mini-batch (0.9.0): across a resume, byte for byte; in the start event;
# other weights than a rate an epoch
perbatch=(--builtin moons --batch-size 64 --seed 2 --optimizer adam --schedule cosine --cosine-period 4 --warmup-epochs 2)
"$cli" train "${perbatch[@]}" --hidden 16 --schedule-per-batch --epochs 4 --out pb-4.mbm >pb.jsonl 2>/dev/null
"$cli" train "${perbatch[@]}" --hidden 16 --schedule-per-batch --epochs 2 --out pb-2.mbm --progress none >/dev/null 2>&1
"$cli" resume pb-2.mbm "${perbatch[@]}" --schedule-per-batch --epochs 2 --out pb-r.mbm --progress none >/dev/null 2>&1
"$cli" train "${perbatch[@]}" --hidden 16 --epochs 4 --out pe-4.mbm --progress none >/dev/null 2>&1
check "--schedule-per-batch: train 2 + resume 2 = train 4, byte for byte; named in the start event; not a rate an epoch" py '
import json
assert open("pb-4.mbm", "rb").read() == open("pb-r.mbm", "rb").read()
assert open("pb-4.mbm", "rb").read() != open("pe-4.mbm", "rb").read()
lines = [json.loads(l) for l in open("pb.jsonl")]
assert lines[0]["schedule_per_batch"] is True, lines[0]
'
# --- one-cycle (0.9.0): the epochs' rates are the header's; across a resume, byte for byte;
# its parameters refused with another schedule, and its values named
"$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --schedule one-cycle --cosine-period 5 --pct-start 0.4 \
    --div-factor 10 --final-div-factor 100 --epochs 5 --out oc-5.mbm >oc.jsonl 2>/dev/null
"$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --schedule one-cycle --cosine-period 5 --pct-start 0.4 \
    --div-factor 10 --final-div-factor 100 --epochs 3 --out oc-3.mbm --progress none >/dev/null 2>&1
"$cli" resume oc-3.mbm --builtin moons --batch-size 64 --seed 2 --schedule one-cycle --cosine-period 5 --pct-start 0.4 \
    --div-factor 10 --final-div-factor 100 --epochs 2 --out oc-r.mbm --progress none >/dev/null 2>&1
check "--schedule one-cycle: the epochs' rates rise to --learning-rate and fall (PyTorch's OneCycleLR); train 3 + resume 2 = train 5" py '
import json, math
assert open("oc-5.mbm", "rb").read() == open("oc-r.mbm", "rb").read()
rates = [json.loads(l)["learning_rate"] for l in open("oc.jsonl") if json.loads(l)["event"] == "epoch"]
lr, n = 0.01, 5
first, last, rise, fall = lr / 10, lr / 10 / 100, 0.4 * n - 1, n - 1
def anneal(a, b, p): return b + (a - b) * (1 + math.cos(math.pi * min(p, 1))) / 2
want = [anneal(first, lr, e / rise) if e <= rise else anneal(lr, last, (e - rise) / (fall - rise)) for e in range(n)]
assert all(abs(r - w) <= 1e-6 * w for r, w in zip(rates, want)) and len(rates) == n, (rates, want)
'
refused "--pct-start with --schedule cosine is refused" "--pct-start is a parameter of --schedule one-cycle" \
    train --builtin moons --out m.mbm --schedule cosine --pct-start 0.3
refused "--pct-start 2 is the library's error, named" "--pct-start" train --builtin moons --out m.mbm --schedule one-cycle --pct-start 2
refused "--final-div-factor 0 is the library's error, named" "--final-div-factor" \
    train --builtin moons --out m.mbm --schedule one-cycle --final-div-factor 0
# --- one-cycle's momentum cycle (0.10.0): in the start event; across a resume, byte for
# byte; other weights than without it; its options refused without it, its values named
cyc=(--builtin moons --batch-size 64 --seed 2 --optimizer adam --schedule one-cycle --cosine-period 5
     --cycle-momentum --base-momentum 0.8)
"$cli" train "${cyc[@]}" --hidden 16 --epochs 5 --out cm-5.mbm >cm.jsonl 2>/dev/null
"$cli" train "${cyc[@]}" --hidden 16 --epochs 3 --out cm-3.mbm --progress none >/dev/null 2>&1
"$cli" resume cm-3.mbm "${cyc[@]}" --epochs 2 --out cm-r.mbm --progress none >/dev/null 2>&1
"$cli" train --builtin moons --hidden 16 --batch-size 64 --seed 2 --optimizer adam --schedule one-cycle --cosine-period 5 \
    --epochs 5 --out cn-5.mbm --progress none >/dev/null 2>&1
check "--cycle-momentum: train 3 + resume 2 = train 5, byte for byte; in the start event; not the uncycled weights" py '
import json
assert open("cm-5.mbm", "rb").read() == open("cm-r.mbm", "rb").read()
assert open("cm-5.mbm", "rb").read() != open("cn-5.mbm", "rb").read()
s = json.loads(open("cm.jsonl").readline())
assert s["cycle_momentum"] is True and s["base_momentum"] == 0.8 and s["max_momentum"] == 0.95, s
'
sgd=(--builtin moons --batch-size 64 --seed 2 --optimizer sgd --schedule one-cycle --cosine-period 5 --cycle-momentum)
"$cli" train "${sgd[@]}" --hidden 16 --epochs 5 --out cs-5.mbm --progress none >/dev/null 2>&1
"$cli" train "${sgd[@]}" --hidden 16 --epochs 3 --out cs-3.mbm --progress none >/dev/null 2>&1
"$cli" resume cs-3.mbm "${sgd[@]}" --epochs 2 --out cs-r.mbm --progress none >/dev/null 2>&1
"$cli" info cs-3.mbm >cs-info.txt 2>&1
check "--optimizer sgd --cycle-momentum: the state is momentum's, and resuming with the same options continues it" py '
assert open("cs-5.mbm", "rb").read() == open("cs-r.mbm", "rb").read()
assert "update rule: momentum," in open("cs-info.txt").read(), open("cs-info.txt").read()
'
# three phases, linear (0.10.0): the rates are the header's; across a resume, byte for byte
tp=(--builtin moons --batch-size 64 --seed 2 --schedule one-cycle --cosine-period 6 --pct-start 0.3 --three-phase
    --anneal-strategy linear --div-factor 10 --final-div-factor 100)
"$cli" train "${tp[@]}" --hidden 16 --epochs 6 --out tp-6.mbm >tp.jsonl 2>/dev/null
"$cli" train "${tp[@]}" --hidden 16 --epochs 4 --out tp-4.mbm --progress none >/dev/null 2>&1
"$cli" resume tp-4.mbm "${tp[@]}" --epochs 2 --out tp-r.mbm --progress none >/dev/null 2>&1
check "--three-phase --anneal-strategy linear: rates up, back down, then to the last (PyTorch's OneCycleLR); train 4 + resume 2 = train 6" py '
import json
assert open("tp-6.mbm", "rb").read() == open("tp-r.mbm", "rb").read()
lines = [json.loads(l) for l in open("tp.jsonl")]
assert lines[0]["three_phase"] is True and lines[0]["anneal_strategy"] == "linear", lines[0]
rates = [l["learning_rate"] for l in lines if l["event"] == "epoch"]
lr, n = 0.01, 6
first, last, ends = lr / 10, lr / 10 / 100, [0.3 * n - 1, 0.6 * n - 2, n - 1]
values = [first, lr, first, last]
def rate(e):
    start = 0.0
    for i, end in enumerate(ends):
        if e <= end or i == 2:
            p = min((e - start) / (end - start), 1)
            return (values[i + 1] - values[i]) * p + values[i]
        start = end
want = [rate(e) for e in range(n)]
assert len(rates) == n and all(abs(r - w) <= 1e-6 * w for r, w in zip(rates, want)), (rates, want)
'
refused "--three-phase with --schedule cosine is refused" "--three-phase is a parameter of --schedule one-cycle" \
    train --builtin moons --out m.mbm --schedule cosine --three-phase
refused "--anneal-strategy with --schedule step is refused" "--anneal-strategy is a parameter of --schedule one-cycle" \
    train --builtin moons --out m.mbm --schedule step --anneal-strategy linear
refused "--cycle-momentum with --schedule cosine is refused" "--cycle-momentum is a parameter of --schedule one-cycle" \
    train --builtin moons --out m.mbm --schedule cosine --cycle-momentum
refused "--base-momentum without --cycle-momentum is refused" "--base-momentum is a parameter of --cycle-momentum" \
    train --builtin moons --out m.mbm --schedule one-cycle --base-momentum 0.8
refused "--max-momentum 1 is the library's error, named" "--max-momentum" \
    train --builtin moons --out m.mbm --schedule one-cycle --cycle-momentum --max-momentum 1
refused "--cycle-momentum with adagrad is the library's error, named" "--cycle-momentum: cycle_momentum needs a rule" \
    train --builtin moons --out m.mbm --schedule one-cycle --cycle-momentum --optimizer adagrad
# --- the plateau schedule (0.11.0): the rates follow PyTorch's ReduceLROnPlateau rule on the
# validation costs the run reports; train 4 + resume 4 = train 8, byte for byte; info shows
# its state; its options refused with another schedule; its values named
pl=(--builtin moons --batch-size 64 --seed 2 --optimizer momentum --momentum 0.9 --learning-rate 0.3 --schedule plateau
    --gamma 0.5 --plateau-patience 0 --plateau-threshold 0.05 --plateau-cooldown 1 --validation-fraction 0.2)
"$cli" train "${pl[@]}" --hidden 16 --epochs 8 --out pl-8.mbm --progress json >pl.jsonl 2>/dev/null
"$cli" train "${pl[@]}" --hidden 16 --epochs 4 --out pl-4.mbm --progress none >/dev/null 2>&1
"$cli" resume pl-4.mbm "${pl[@]}" --epochs 4 --out pl-r.mbm --progress none >/dev/null 2>&1
"$cli" info --json pl-4.mbm >pl-info.json 2>&1
check "--schedule plateau: PyTorch's rule on the reported validation costs; train 4 + resume 4 = train 8; info shows its state" py '
import json
import numpy as np
assert open("pl-8.mbm", "rb").read() == open("pl-r.mbm", "rb").read()
lines = [json.loads(l) for l in open("pl.jsonl")]
s = lines[0]
assert s["schedule"] == "plateau" and s["factor"] == 0.5 and s["plateau_patience"] == 0 and s["plateau_cooldown"] == 1, s
epochs = [l for l in lines if l["event"] == "epoch"]
lr, best, bad, cool, want = float(np.float32(0.3)), float("inf"), 0, 0, []
for k, e in enumerate(epochs):
    if k == 4:  # the state pl-4.mbm keeps
        after4 = (lr, best, bad, cool)
    want.append(float(np.float32(lr)))
    if e["validation_cost"] < best * (1 - 0.05):
        best, bad = e["validation_cost"], 0
    else:
        bad += 1
    if cool > 0:
        cool, bad = cool - 1, 0
    if bad > 0:
        new = max(lr * 0.5, 0.0)
        if lr - new > 1e-8:
            lr = new
        cool, bad = 1, 0
got = [float(np.float32(e["learning_rate"])) for e in epochs]
assert len(got) == 8 and got == want and len(set(got)) >= 3, (got, want)
p = json.load(open("pl-info.json"))["plateau"]
assert p["monitor"] == "cost" and (p["learning_rate"], p["best"], p["bad_epochs"], p["cooldown_left"]) == after4, (p, after4)
assert after4[0] < 0.3
'
refused "--plateau-patience with --schedule cosine is refused" "--plateau-patience is a parameter of --schedule plateau" \
    train --builtin moons --out m.mbm --schedule cosine --plateau-patience 3
refused "--gamma 1 with plateau is the library's error, named" "--gamma" \
    train --builtin moons --out m.mbm --schedule plateau --gamma 1
refused "--plateau-threshold -1 is the library's error, named" "--plateau-threshold:" \
    train --builtin moons --out m.mbm --schedule plateau --plateau-threshold -1
refused "--plateau-cooldown -1 is the library's error, named" "--plateau-cooldown" \
    train --builtin moons --out m.mbm --schedule plateau --plateau-cooldown -1
# --- the cyclic schedule (0.11.0): PyTorch's CyclicLR, a rate every mini-batch, the momentum
# cycled; the epochs' rates are the header's formula; train 2 + resume 2 = train 4, byte for
# byte; --min-learning-rate (base_lr) required; its options refused with another schedule
cy=(--builtin moons --batch-size 64 --seed 2 --optimizer adam --learning-rate 0.01 --schedule cyclic
    --min-learning-rate 0.001 --cyclic-step-size-up 30 --cyclic-step-size-down 20 --cyclic-mode triangular2
    --schedule-per-batch --cycle-momentum)
"$cli" train "${cy[@]}" --hidden 16 --epochs 4 --out cy-4.mbm --progress json >cy.jsonl 2>/dev/null
"$cli" train "${cy[@]}" --hidden 16 --epochs 2 --out cy-2.mbm --progress none >/dev/null 2>&1
"$cli" resume cy-2.mbm "${cy[@]}" --epochs 2 --out cy-r.mbm --progress none >/dev/null 2>&1
check "--schedule cyclic: the rates are CyclicLR's (triangular2, steps of a mini-batch); train 2 + resume 2 = train 4" py '
import json, math
import numpy as np
assert open("cy-4.mbm", "rb").read() == open("cy-r.mbm", "rb").read()
lines = [json.loads(l) for l in open("cy.jsonl")]
s = lines[0]
assert s["schedule"] == "cyclic" and s["base_lr"] == 0.001 and s["cyclic_mode"] == "triangular2", s
assert s["cycle_momentum"] is True and s["base_momentum"] == 0.8 and s["max_momentum"] == 0.9, s
epochs = [l for l in lines if l["event"] == "epoch"]
def rate(k, lr=float(np.float32(0.01)), base=0.001, up=30, down=20):
    cycle = math.floor(1 + k / (up + down))
    x = 1.0 + k / (up + down) - cycle
    ratio = up / (up + down)
    f = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    return float(np.float32(base + (lr - base) * f * (1 / 2.0 ** (cycle - 1))))
B = epochs[0]["batches"]
got = [float(np.float32(e["learning_rate"])) for e in epochs]
assert got == [rate(e * B) for e in range(4)] and len(set(got)) >= 3, (got, B)
'
refused "--schedule cyclic without --min-learning-rate is refused" "needs --min-learning-rate" \
    train --builtin moons --out m.mbm --schedule cyclic
refused "--cyclic-mode with --schedule plateau is refused" "--cyclic-mode is a parameter of --schedule cyclic" \
    train --builtin moons --out m.mbm --schedule plateau --cyclic-mode triangular2
refused "--cyclic-step-size-up 0 is the library's error, named" "--cyclic-step-size-up" \
    train --builtin moons --out m.mbm --schedule cyclic --min-learning-rate 0.001 --cyclic-step-size-up 0
refused "--gamma 2 with cyclic exp-range is the library's error, named" "--gamma" \
    train --builtin moons --out m.mbm --schedule cyclic --min-learning-rate 0.001 --cyclic-mode exp-range --gamma 2
refused "--gamma with cyclic triangular is refused (exp-range's parameter)" "--gamma is a parameter of --cyclic-mode exp-range" \
    train --builtin moons --out m.mbm --schedule cyclic --min-learning-rate 0.001 --gamma 0.9
# --- y files of float64 and, for the regression losses, integers (0.10.0): they train as
# their float32 values; eval reports R^2 from the file
py '
import numpy as np
rs = np.random.RandomState(0); X = rs.randn(400, 3).astype(np.float32)
np.save("x64t.npy", X); np.save("y64t.npy", X @ [1.0, 2.0, 3.0]); np.save("y32t.npy", (X @ [1.0, 2.0, 3.0]).astype(np.float32))
np.save("yct.npy", rs.poisson(np.exp(0.3 * X[:, 0])))
'
"$cli" train --x x64t.npy --y y64t.npy --hidden 8 --epochs 2 --seed 1 --out f64.mbm --progress none >/dev/null 2>&1
"$cli" train --x x64t.npy --y y32t.npy --hidden 8 --epochs 2 --seed 1 --out f32.mbm --progress none >/dev/null 2>&1
"$cli" train --x x64t.npy --y yct.npy --loss poisson --hidden 8 --epochs 2 --seed 1 --out cnt.mbm --progress none >/dev/null 2>&1
"$cli" eval cnt.mbm --x x64t.npy --y yct.npy >cnt-eval.txt 2>&1
py 'import numpy as np; X = np.load("x64t.npy"); np.save("ymt.npy", (X > 0).astype(np.uint8)); np.save("y01t.npy", (X[:, 0] > 0).astype(np.int64))'
"$cli" train --x x64t.npy --y ymt.npy --hidden 8 --epochs 2 --seed 1 --out ml.mbm >ml.jsonl 2>/dev/null
"$cli" train --x x64t.npy --y y01t.npy --loss binary-cross-entropy --hidden 8 --epochs 1 --out bce1.mbm >bce1.jsonl 2>&1
check "--y of float64 trains as its float32 values; --loss poisson reads integer counts as values (one output), eval gives R^2" py '
assert open("f64.mbm", "rb").read() == open("f32.mbm", "rb").read()
text = open("cnt-eval.txt").read(); assert "R^2" in text, text
s = __import__("json").loads(open("ml.jsonl").readline())
assert s["layers"] == [3, 8, 3] and s["loss"] == "binary-cross-entropy", s
'''
check "--loss binary-cross-entropy with integer labels (m) makes one output, and trains" py '
s = __import__("json").loads(open("bce1.jsonl").readline()); assert s["layers"][-1] == 1, s
assert __import__("os").path.exists("bce1.mbm")
'
# --- PyTorch's coupled weight decay (0.10.0): --weight-decay with every rule; AdamW's
# stays its decoupled decay; in the start event and the resume command
wdc=(--builtin moons --batch-size 64 --seed 2 --optimizer nesterov --momentum 0.9 --weight-decay 0.01)
"$cli" train "${wdc[@]}" --hidden 16 --epochs 3 --out wd-3.mbm >wd.jsonl 2>/dev/null
"$cli" train "${wdc[@]}" --hidden 16 --epochs 2 --out wd-2.mbm --progress none >/dev/null 2>&1
"$cli" resume wd-2.mbm "${wdc[@]}" --epochs 1 --out wd-r.mbm --progress none >/dev/null 2>&1
"$cli" train --builtin moons --batch-size 64 --seed 2 --optimizer nesterov --momentum 0.9 --hidden 16 --epochs 3 \
    --out wd0-3.mbm --progress none >/dev/null 2>&1
check "--weight-decay with nesterov: PyTorch's coupled decay; train 2 + resume 1 = train 3; in the start event; not the undecayed weights" py '
import json
assert open("wd-3.mbm", "rb").read() == open("wd-r.mbm", "rb").read()
assert open("wd-3.mbm", "rb").read() != open("wd0-3.mbm", "rb").read()
s = json.loads(open("wd.jsonl").readline()); assert s["weight_decay"] == 0.01, s
'
"$cli" train --builtin moons --batch-size 64 --seed 2 --optimizer radam --weight-decay 0.1 --decoupled-weight-decay \
    --hidden 16 --epochs 2 --out rw.mbm >rw.jsonl 2>/dev/null
"$cli" train --builtin moons --batch-size 64 --seed 2 --optimizer radam --weight-decay 0.1 \
    --hidden 16 --epochs 2 --out rc.mbm --progress none >/dev/null 2>&1
check "--optimizer radam --decoupled-weight-decay: PyTorch's RAdamW, in the start event (once: no coupled term beside it); not the coupled decay" py '
import json
assert open("rw.mbm", "rb").read() != open("rc.mbm", "rb").read()
line = open("rw.jsonl").readline(); s = json.loads(line)
assert s["decoupled_weight_decay"] is True and s["weight_decay"] == 0.1 and line.count("\"weight_decay\"") == 1, line
'
refused "--decoupled-weight-decay without --weight-decay is refused" "give --weight-decay too" \
    train --builtin moons --out m.mbm --optimizer nadam --decoupled-weight-decay
refused "--decoupled-weight-decay with adam is refused" "--decoupled-weight-decay is a parameter of --optimizer nadam or radam" \
    train --builtin moons --out m.mbm --optimizer adam --decoupled-weight-decay
refused "--weight-decay -1 is the library's error, named" "--weight-decay" \
    train --builtin moons --out m.mbm --optimizer adam --weight-decay -1
# --- clip_value (0.6.0): in the start event; refused below 0, named
"$cli" train --builtin moons --hidden 16 --epochs 1 --clip-value 0.5 --out cv.mbm >cv.jsonl 2>/dev/null
check "--clip-value: trains, and the start event names it" py '
import json; s = json.loads(open("cv.jsonl").readline()); assert s.get("clip_value") == 0.5, s'
refused "--clip-value -1 is the library's error, named" "--clip-value" train --builtin moons --out m.mbm --clip-value -1

# --- shuffle: a permutation of the rows, pairs kept, in a budget that forces buckets
"$cli" shuffle --x x.npy --y y.npy --out-x xs.npy --out-y ys.npy --seed 5 --memory-budget 16K >/dev/null
check "shuffle exits 0" test $? -eq 0
check "shuffle writes a permutation of the rows with X and y pairs kept" py '
import numpy as np
X, y, Xs, ys = np.load("x.npy"), np.load("y.npy"), np.load("xs.npy"), np.load("ys.npy")
where = {r.tobytes(): i for i, r in enumerate(X)}
p = np.array([where[r.tobytes()] for r in Xs])
assert sorted(p) == list(range(len(X))) and (ys == y[p]).all() and ys.dtype == y.dtype
assert (p != np.arange(len(p))).mean() > 0.9
'

# --- bad arguments: a non-zero exit and a message that names the argument
refused "--seed x is refused, not taken as 0" "--seed" train --builtin moons --out m.mbm --seed x
refused "--epochs 0 is the library's error, named" "--epochs" train --builtin moons --out m.mbm --epochs 0
refused "--batch-size -3 is the library's error, named" "--batch-size" train --x x.npy --y y.npy --out m.mbm --batch-size -3
refused "--batch-size larger than m" "--batch-size" train --builtin moons --m 100 --out m.mbm --batch-size 101
refused "a missing X file is named" "--x" train --x missing.npy --y y.npy --out m.mbm
refused "a missing validation file is named" "--validation-y" train --x x.npy --y y.npy --validation-x xv.npy --validation-y missing.npy --out m.mbm
refused "an unknown option" "--frobnicate" train --builtin moons --out m.mbm --frobnicate 3
refused "--out is required" "--out" train --builtin moons
refused "a rule's parameter with another rule" "--momentum" train --builtin moons --out m.mbm --optimizer adam --momentum 0.5
refused "--beta1 out of range" "--beta1" train --builtin moons --out m.mbm --optimizer adam --beta1 1.5
refused "--learning-rate 0" "--learning-rate" train --builtin moons --out m.mbm --learning-rate 0
refused "--layers that do not fit X" "--layers" train --x x.npy --y y.npy --layers 5,8,2 --out m.mbm
refused "--memory-budget with --builtin" "--memory-budget" train --builtin moons --out m.mbm --memory-budget 1M
refused "eval of a missing model file" "missing.mbm" eval missing.mbm --x x.npy --y y.npy
refused "predict with a memory budget too small" "--memory-budget" predict full.mbm --x x.npy --out q.npy --memory-budget 100
refused "shuffle onto its own input" "--out-x" shuffle --x x.npy --out-x x.npy
mkdir -p adir && ln -sf full.mbm link.mbm
refused "predict onto its own model, by a symbolic link" "is the model file" predict full.mbm --x x.npy --out link.mbm
refused "predict onto its own model, by another path" "is the model file" predict ./adir/../full.mbm --x x.npy --out full.mbm
refused "train --out a directory, before training" "--out 'adir' is a directory" train --builtin moons --out adir
refused "train --history a directory" "--history 'adir' is a directory" train --builtin moons --out m2.mbm --history adir
cp full.mbm keep.mbm
refused "predict onto its own model file" "--out" predict keep.mbm --x x.npy --out keep.mbm
check "the model is kept" cmp -s full.mbm keep.mbm
refused "info of a file that is not a model" "not a valid minibatch model" info train.jsonl
check "a refused command leaves no model file" test ! -e m.mbm

# --- outputs that are not regular files are refused before training (a rename over them
#     would replace them: a device node, as root); a FIFO stands for a device here
mkfifo fifo
refused "train --out a FIFO" "--out" train --builtin moons --m 200 --epochs 1 --out fifo
refused "train --history a FIFO" "--history" train --builtin moons --m 200 --epochs 1 --out h.mbm --history fifo
# Arguments that are not UTF-8 (Swift repaired them, so --out 'm\xff.mbm' wrote 'm\u{FFFD}.mbm')
"$cli" train --builtin moons --m 200 --epochs 1 --out $'notutf8\xff.mbm' >notutf8.out 2>&1; rc=$?
check "an --out that is not UTF-8: exit 64, the argument named, no file written" bash -c \
    "test $rc -eq 64 && grep -q 'argument 9 is not valid UTF-8' notutf8.out && test -z \"\$(ls | grep '^notutf8.*mbm')\""
refused "info of a path that is not UTF-8" "argument 2 is not valid UTF-8" info $'\xff.npy'
check "the FIFO is still a FIFO, and nothing was trained" bash -c "test -p fifo && test ! -e h.mbm"

# --- a cost too large for an Int is printed as a Double (formatting it trapped the tool)
py '
import numpy as np
np.save("ybig.npy", np.full((3000, 1), 1e10, np.float32))
'
"$cli" train --x x.npy --y ybig.npy --epochs 1 --batch-size 3000 --learning-rate 1e-30 --progress none --out big.mbm >big.out 2>&1; rc=$?
check "a cost of 1e20: exit 0 and the cost written as a Double" bash -c "test $rc -eq 0 && grep -q 'cost 1.0[0-9]*e+20' big.out"
"$cli" eval big.mbm --x x.npy --y ybig.npy >bigeval.out 2>&1; rc=$?
check "eval prints a cost of 1e20" bash -c "test $rc -eq 0 && grep -q 'cost 1.0[0-9]*e+20' bigeval.out"

# --- built-in data larger than the process's address-space limit (ulimit -v): an error,
# not an abort in Swift's allocator (its check counted physical memory and cgroups only)
(ulimit -v 4000000; "$cli" train --builtin moons --m 1073741824 --epochs 1 --out huge.mbm) >huge.out 2>&1; rc=$?
check "moons beyond ulimit -v: exit 1, out of memory named, nothing saved" bash -c "test $rc -eq 1 && grep -q 'out of memory' huge.out && test ! -e huge.mbm"

# --- progress into a pipe that closes: the run finishes and saves (SIGPIPE killed it)
"$cli" train --builtin moons --m 20000 --batch-size 16 --epochs 10 --progress json --out piped.mbm 2>/dev/null | head -c 10 >/dev/null
check "progress into a closed pipe: exit 0 and the model saved" bash -c "test ${PIPESTATUS[0]} -eq 0 && test -s piped.mbm"

# --- --help lists every option with its default
check "train --help gives every option's default" py '
import re, subprocess, sys
text = subprocess.check_output([sys.argv[1], "train", "--help"], text=True)
options = re.findall(r"^  (--[a-z0-9-]+)", text, re.M)
assert len(options) >= 40, options
blocks = re.split(r"\n  (?=--)", text.split("USAGE:")[1])
for block in blocks[1:]:
    name = block.split()[0]
    if name in ("--x", "--y", "--builtin", "--validation-x", "--validation-y", "--layers", "--out", "--history", "--version", "-h,"):
        continue
    assert "default" in block.lower(), name
' "$cli"

# --- help with a name that is no subcommand: a usage error (ArgumentParser printed the
# overview and exited 0); help with a subcommand's name still gives its help
refused "help with an unknown subcommand is refused, naming the subcommands" "'help trian': no such subcommand (train, resume," help trian
"$cli" help trian >/dev/null 2>&1
check "help with an unknown subcommand exits 64" test $? -eq 64
check "help train gives train's help" bash -c "'$cli' help train | grep -q 'Train a new network'"

# --- a terminal: one line per epoch (script(1) gives the tool a terminal)
if command -v script >/dev/null; then
    script -qfec "'$cli' train --builtin moons --m 500 --epochs 2 --out tty.mbm" tty.log >/dev/null 2>&1
    check "on a terminal: one text line per epoch, and the summary" bash -c \
        "grep -q 'epoch 1/2  cost' tty.log && grep -q 'epoch 2/2  cost' tty.log && grep -q 'model saved to tty.mbm' tty.log && ! grep -q '\"event\"' tty.log"
else
    echo "skipped: the terminal's lines (no script(1))"
fi

# --- Ctrl-C: stops after the current mini-batch, saves a model that loads and resumes
set -m  # the background job gets SIGINT as from a terminal (a script's jobs otherwise ignore it)
"$cli" train --builtin moons --m 200000 --hidden 32 --epochs 1000 --batch-size 32 --seed 2 --out stopped.mbm \
    --history stopped.json >stopped.jsonl 2>stopped.err &
pid=$!
set +m
sleep 1.5
kill -INT "$pid"
wait "$pid"; rc=$?
check "Ctrl-C: exit status 130" test $rc -eq 130
check "Ctrl-C: says where the model is and how to resume" bash -c \
    "grep -q 'model saved to stopped.mbm' stopped.err && grep -q '^  minibatch-cli resume stopped.mbm ' stopped.err"
check "Ctrl-C: the end line says interrupted; the file loads with info; the history is written" py '
import json, subprocess, sys
end = [json.loads(l) for l in open("stopped.jsonl")][-1]
assert end["event"] == "end" and end["status"] == "interrupted", end
info = json.loads(subprocess.check_output([sys.argv[1], "info", "stopped.mbm", "--json"]))
assert info["epochs_trained"] == end["epochs_trained"] < 1000, (info, end)
h = json.load(open("stopped.json"))
assert len(h["epoch_costs"]) == end["epochs_trained"] and len(h["batch_costs"]) == end["batches_done"]
' "$cli"
resume=$(grep '^  minibatch-cli resume' stopped.err | sed -e 's/^  minibatch-cli //' -e 's/--epochs [0-9]*/--epochs 1/')
trained=$("$cli" info stopped.mbm --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["epochs_trained"])')
eval "\"$cli\" $resume --progress none" >/dev/null 2>&1
check "Ctrl-C: the printed resume command continues the run (one more epoch)" py '
import json, subprocess, sys
info = json.loads(subprocess.check_output([sys.argv[1], "info", "stopped.mbm", "--json"]))
assert info["epochs_trained"] == int(sys.argv[2]) + 1, info
' "$cli" "$trained"

# --- demo keeps its behaviour
"$cli" demo --m 400 --epochs 5 --csv demo.csv >demo.txt 2>&1
check "demo prints both curves and writes the CSV" bash -c \
    "grep -q 'batch gradient descent: 1 batch of 400' demo.txt && grep -q 'mini-batch gradient descent' demo.txt && head -1 demo.csv | grep -q method,epoch,batch,cost"

# --- found by an adversarial review (0.12.3)
# A resume whose epochs plus --epochs pass 2^63 - 1, stopped by Ctrl-C: the resume command's
# cosine end saturates (it trapped, SIGILL, and nothing was said).
"$cli" train --x x.npy --y y.npy --hidden 4 --epochs 1 --threads 1 --out big.mbm --progress none >/dev/null 2>&1
set -m
"$cli" resume big.mbm --x x.npy --y y.npy --epochs 9223372036854775807 --threads 1 --progress json \
    >big.out 2>big.err &
pid=$!
set +m
for _ in $(seq 2000); do grep -q '"event": "epoch"' big.out 2>/dev/null && break; sleep 0.01; done
kill -INT "$pid"
wait "$pid"; rc=$?
check "Ctrl-C on a resume of 2^63 - 1 epochs: exit 130 and the resume command (exit $rc)" bash -c \
    "test $rc -eq 130 && grep -q '^  minibatch-cli resume big.mbm' big.err"
# FIFOs are refused, not waited on (info read one with a blocking fopen, demo wrote one).
mkfifo fifo2
out=$(timeout 20 "$cli" info fifo2 2>&1); rc=$?
check "info of a FIFO: refused at once (exit $rc)" test $rc -eq 1
out=$(timeout 20 "$cli" demo --m 100 --epochs 2 --csv fifo2 2>&1); rc=$?
check "demo --csv a FIFO with no reader: refused before the work, naming --csv (exit $rc)" bash -c \
    "test $rc -eq 1 && grep -q -- --csv <<<'$out' && ! grep -q 'two moons' <<<'$out'"
# Outputs that are inputs, or each other, are refused before training.
cp x.npy xc.npy; cp y.npy yc.npy
refused "train --out the y file: refused" "--out: 'yc.npy' is the --y file itself" \
    train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out yc.npy --progress none
refused "train --history the X file: refused" "--history: 'xc.npy' is the --x file itself" \
    train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out c.mbm --history xc.npy --progress none
refused "train --history the model's file: refused" "--history: 'c.mbm' is where the model is saved" \
    train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out c.mbm --history c.mbm --progress none
cp big.mbm keep.mbm
refused "resume --history the model it reads (its --out): refused" "--history: 'keep.mbm' is where the model is saved" \
    resume keep.mbm --x x.npy --y y.npy --epochs 1 --history keep.mbm --progress none
check "the inputs and the model are untouched" bash -c "cmp -s x.npy xc.npy && cmp -s y.npy yc.npy && cmp -s big.mbm keep.mbm && test ! -e c.mbm"
# Since 0.12.5 a write goes through a symbolic link to the file it leads to (as open() and
# numpy.save do; it replaced the link before): an output that is a link to an input, or to
# the other output, is that file, refused.
ln -s xc.npy xlink.mbm
refused "train --out a link to the X file: refused" "--out: 'xlink.mbm' is the --x file itself" \
    train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out xlink.mbm --progress none
ln -s c.mbm clink.json
refused "train --history a link to --out (not made yet): refused" "--history: 'clink.json' is where the model is saved" \
    train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out c.mbm --history clink.json --progress none
check "the links and X are untouched" bash -c "test -L xlink.mbm && test -L clink.json && cmp -s x.npy xc.npy && test ! -e c.mbm"
ln -s "$(printf 'n%.0s' {1..300})" longlink.mbm
refused "train --out a link to a name of 300 bytes: refused before training" "--out: cannot write 'longlink.mbm': File name too long (300 bytes" \
    train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out longlink.mbm --progress json
ln -s sub/linked.mbm outlink.mbm; mkdir -p sub
"$cli" train --x xc.npy --y yc.npy --hidden 4 --epochs 1 --out outlink.mbm --progress none >/dev/null 2>&1; rc=$?
check "train --out a link: the model is written where it leads, the link stays (exit $rc)" bash -c \
    "test $rc -eq 0 && test -L outlink.mbm && test -s sub/linked.mbm && '$cli' info outlink.mbm >/dev/null"
# Where the outputs cannot be written is found before training, naming the option.
# (--progress json: an epoch line would show that training ran)
refused "train --out in a missing directory: refused before training" "--out: cannot create a temporary file next to 'nodir/t.mbm'" \
    train --x x.npy --y y.npy --hidden 4 --epochs 1 --out nodir/t.mbm --progress json
refused "train --history in a missing directory: refused before training" "--history: cannot create a temporary file next to 'nodir/h.json'" \
    train --x x.npy --y y.npy --hidden 4 --epochs 1 --out t.mbm --history nodir/h.json --progress json
long=$(printf 'n%.0s' $(seq 256))
refused "train --out a name of 256 bytes: refused before training" "a name has at most 255" \
    train --x x.npy --y y.npy --hidden 4 --epochs 1 --out "$long" --progress json
refused "train --out '': refused before training" "the path names no file" \
    train --x x.npy --y y.npy --hidden 4 --epochs 1 --out "" --progress json
for args in "--out nodir/t.mbm" "--out t.mbm --history nodir/h.json" "--out $long" "--out t.mbm --history ''"; do
    out=$(eval "'$cli' train --x x.npy --y y.npy --hidden 4 --epochs 1 $args --progress json" 2>&1)
    check "refused before training ($args): no epoch ran, nothing written" bash -c \
        "test ! -e t.mbm && ! grep -q '\"event\": \"epoch\"' <<<'$out'"
done
# Messages name the options of the command that was run.
py 'import numpy as np; np.save("x7.npy", np.zeros((30, 7), np.float32)); np.save("y7.npy", np.zeros(30, np.int64))'
refused "eval of data with other features names --x" "--x:" eval big.mbm --x x7.npy --y y7.npy
refused "eval of --builtin moons on a 6-input model names --builtin" "--builtin:" eval big.mbm --builtin moons
refused "a validation set of other features names --validation-x" "--validation-x:" \
    train --x x.npy --y y.npy --hidden 4 --epochs 1 --out v.mbm --validation-x x7.npy --validation-y y7.npy --progress none
refused "--batch-memory -1 names --batch-memory" "--batch-memory must be >= 0" \
    train --x x.npy --y y.npy --hidden 4 --epochs 1 --out v.mbm --batch-memory -1 --progress none
refused "--hidden 0 names --hidden" "--hidden: sizes must be positive" train --x x.npy --y y.npy --hidden 0 --epochs 1 --out v.mbm
refused "--outputs 0 names --outputs" "--outputs must be positive" train --x x.npy --y y.npy --hidden 4 --outputs 0 --epochs 1 --out v.mbm
refused "--builtin moons with --loss mse names --loss, once 'targets'" "--loss: y_type integer class labels needs a cross-entropy loss; mse takes float32 targets" \
    train --builtin moons --hidden 4 --loss mse --epochs 1 --out v.mbm
out=$("$cli" train --builtin moons --hidden 4 --schedule cyclic --min-learning-rate 0.001 --cyclic-step-size-down -1 --epochs 1 --out v.mbm 2>&1); rc=$?
check "--cyclic-step-size-down -1 is a refused value: exit 1 as --cyclic-step-size-up's (was 64)" test $rc -eq 1
py 'open("trunc.npy", "wb").write(b"\x93NUMPY\x01\x00\x76"); open("m.npy", "wb").write(b"\x93NUMPY\x01\x00\x76")'
refused "info of a cut .npy: no doubled word" "the file 'trunc.npy' is not a valid .npy file: truncated header" info trunc.npy
out=$("$cli" info m.npy 2>&1)
check "info names no option (a file m.npy was --m's)" bash -c "! grep -q -- '--m' <<<'$out'"
# A result that cannot be written is a failure; a reader that left a pipe is not.
"$cli" info big.mbm >/dev/full 2>/dev/null; rc=$?
check "info > /dev/full: exit 1 (was 0)" test $rc -eq 1
check "info into a pipe whose reader left: exit 0" py '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
assert subprocess.run([sys.argv[1], "info", "big.mbm"], stdout=w, stderr=subprocess.DEVNULL).returncode == 0
' "$cli"
"$cli" train --x x.npy --y y.npy --hidden 4 --epochs 1 --out full2.mbm >/dev/full 2>/dev/null; rc=$?
check "train with its progress into /dev/full: exit 0, the model saved (the status is training's)" bash -c "test $rc -eq 0 && test -s full2.mbm"
# The CSV is written atomically: a write that fails keeps the old file whole.
printf 'ORIGINAL\n' >demo2.csv
out=$(bash -c "trap '' XFSZ; ulimit -f 1; '$cli' demo --m 400 --epochs 5 --csv demo2.csv" 2>&1); rc=$?
check "demo --csv that cannot be written whole: exit 1 naming --csv, the old file kept, no temporary file" bash -c \
    "test $rc -eq 1 && grep -q -- '--csv:' <<<'$out' && test \"\$(cat demo2.csv)\" = ORIGINAL && ! ls demo2.csv.tmp-* >/dev/null 2>&1"
"$cli" demo --m 100 --epochs 2 --csv /dev/null >/dev/null 2>&1; rc=$?
check "demo --csv /dev/null: written through, as before (exit $rc)" test $rc -eq 0
(umask 077; "$cli" train --x x.npy --y y.npy --hidden 4 --epochs 1 --out private.mbm --history private.json --progress none >/dev/null 2>&1)
check "the outputs follow the umask (077: 0600)" bash -c \
    "test -e private.mbm && test -e private.json && test \"\$(stat -c %a private.mbm private.json | sort -u)\" = 600"
# A link to a regular file is replaced as the file would be (written through, an old longer
# file kept its tail).
py 'open("long.csv", "w").write("X" * 100000 + "TAIL")'
ln -s long.csv lnk.csv
"$cli" demo --m 100 --epochs 2 --csv lnk.csv >/dev/null 2>&1; rc=$?
check "demo --csv a link to a longer file: the whole CSV and nothing after it (exit $rc)" bash -c \
    "test $rc -eq 0 && head -1 lnk.csv | grep -q method,epoch && ! grep -q TAIL lnk.csv"
# A signal during a long write removes its temporary files (they were left: a model's or a
# whole .npy's worth).
# (The signal comes once the outputs' temporary files exist: a small budget makes the shuffle
# write them for long enough, about half a second here.)
py 'import numpy as np; np.save("xl.npy", np.random.default_rng(0).random((400000, 64), dtype=np.float32)); np.save("yl.npy", np.zeros(400000, np.int64))'
for sig in INT TERM; do
    set -m
    "$cli" shuffle --x xl.npy --y yl.npy --out-x sx.npy --out-y sy.npy --memory-budget 90K >/dev/null 2>&1 &
    pid=$!
    set +m
    for _ in $(seq 2000); do ls sx.npy.tmp-* >/dev/null 2>&1 && break; sleep 0.005; done
    kill -$sig "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    check "shuffle stopped by SIG$sig (exit $rc, the signal's): no temporary file left, no output" bash -c \
        "test $rc -eq $((128 + $(kill -l $sig))) && ! ls sx.npy* sy.npy* >/dev/null 2>&1"
done

# --- 0.12.6: a run that fails after whole epochs is saved as training left it (it was lost),
# with the command that continues it; one that fails in its first epoch saves nothing.
"$cli" train --x x.npy --y yr.npy --hidden none --loss mse --optimizer sgd --learning-rate 10 --batch-size 3000 \
    --epochs 200 --out diverged.mbm --history diverged.json --progress json >diverged.jsonl 2>diverged.err; rc=$?
check "a divergence in epoch 20: exit 1, the model of 19 epochs saved with its history and a resume command" py '
import json, subprocess, sys
assert int(sys.argv[2]) == 1, sys.argv[2]
end = [json.loads(l) for l in open("diverged.jsonl")][-1]
assert end["event"] == "end" and end["status"] == "failed" and end["epochs_trained"] == 19, end
assert "diverged" in end["message"] and end["model"] == "diverged.mbm", end
info = json.loads(subprocess.check_output([sys.argv[1], "info", "diverged.mbm", "--json"]))
assert info["epochs_trained"] == 19, info
assert len(json.load(open("diverged.json"))["epoch_costs"]) == 19
err = open("diverged.err").read()
assert err.startswith("Error: training diverged") and "as training left it" in err and "minibatch-cli resume diverged.mbm" in err, err
' "$cli" "$rc"
"$cli" train --x x.npy --y yr.npy --hidden none --loss mse --optimizer sgd --learning-rate 1e30 --batch-size 32 \
    --epochs 5 --out first.mbm --progress none >/dev/null 2>first.err; rc=$?
check "a divergence in the first epoch: exit 1, nothing saved (exit $rc)" bash -c \
    "test $rc -eq 1 && ! test -e first.mbm && grep -q 'training diverged' first.err"
# --- 0.12.6: the option an error names is not read from a file's name ('runs/m.mbm' is no --m)
mkdir -p runs epochs
for model in runs/m.mbm epochs/gone.mbm labels.mbm; do
    out=$("$cli" eval "$model" --x x.npy --y y.npy 2>&1); rc=$?
    check "eval of a missing $model names no option taken from its path (exit $rc: $out)" bash -c \
        "test $rc -eq 1 && [[ \"\$1\" == \"Error: cannot open '$model'\"* ]]" _ "$out"
done
# --- 0.12.6: a 2-D integer y of one column trains one binary output under --loss auto (it was
# refused as class labels that must be 1-D)
py 'import numpy as np; np.save("y1.npy", np.load("y.npy").reshape(-1, 1))'
"$cli" train --x x.npy --y y1.npy --hidden 4 --epochs 1 --out one.mbm --progress none >/dev/null 2>&1; rc=$?
check "y of shape (m, 1), integers, --loss auto: a 6-4-1 binary cross-entropy network (exit $rc)" py '
import json, subprocess, sys
info = json.loads(subprocess.check_output([sys.argv[1], "info", "one.mbm", "--json"]))
assert info["loss"] == "binary-cross-entropy" and info["layer_sizes"] == [6, 4, 1], info
' "$cli"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
