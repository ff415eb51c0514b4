// What a crew must not miss and must not do by a slip: the unit set out of service by someone else (no calls
// come until the crew says it is available), and the presses a single slip of a gloved hand would make costly
// (out of service, sign out), which ask for a second tap.
import { state } from "./store.js";

const $ = (id) => document.getElementById(id);
const CONFIRM_MS = 4000;

// The first tap arms the button (its text says what a second tap does); a second tap within 4 s acts.
export function confirmTap(button, again, action) {
  let timer = null;
  const label = button.textContent;
  const disarm = () => { clearTimeout(timer); timer = null; delete button.dataset.confirm; button.textContent = label; };
  button.addEventListener("click", () => {
    if (button.dataset.confirm) { disarm(); action(); return; }
    button.dataset.confirm = "true";
    button.textContent = again;
    timer = setTimeout(disarm, CONFIRM_MS);
  });
}

export function renderUnitStatus() {
  const out = state.unitStatus === "out_of_service" && !state.job;
  $("oos").hidden = !out;
  document.body.dataset.unitStatus = state.unitStatus || "";
}
