// The alert of a new assignment: a two-tone beep (WebAudio) and a vibration, again every 2 s until the crew
// acknowledges. The audio context is opened at sign-in, a user gesture, as browsers ask.
let audio = null;
let timer = null;

export function unlockAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!audio && Context) audio = new Context();
  audio?.resume?.();
}

function beep() {
  if (audio) {
    const now = audio.currentTime;
    for (const [i, hz] of [[0, 960], [1, 770]]) {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = hz;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.35);
      osc.stop(now + i * 0.35 + 0.3);
    }
  }
  navigator.vibrate?.([400, 200, 400]);
}

// Once: something changed that the crew must notice (stood down, set out of service, a dispatcher's words).
export function chime() { beep(); }

export function alerting(on) {
  document.body.dataset.alerting = String(on);
  if (on && !timer) { beep(); timer = setInterval(beep, 2000); }
  if (!on && timer) { clearInterval(timer); timer = null; navigator.vibrate?.(0); }
}
