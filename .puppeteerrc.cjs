/**
 * Puppeteer configuration for this project.
 * whatsapp-web.js depends on puppeteer, which would download its own browser on install.
 * The service uses the system Chromium instead (see README: "Chromium"), so the download is skipped.
 */
module.exports = {
  skipDownload: true,
};
