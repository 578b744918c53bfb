// The statistics page: choosing a period shows it at once (the Show button stays for keyboards).
const form = document.getElementById("stats-period");
form?.querySelector("select[name=days]").addEventListener("change", () => form.requestSubmit());
