// Disable a form's submit button once it is sent (the idempotency key already makes a
// second send harmless: the service answers it with the first answer).
document.addEventListener("submit", (e) => {
  const btn = e.target.querySelector("button[data-once]");
  if (btn) { setTimeout(() => { btn.disabled = true; }, 0); }
});
