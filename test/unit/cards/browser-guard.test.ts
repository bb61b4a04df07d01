import { assertChromium } from './browser-render';

test('a missing Chromium fails loudly and says how to install it', () => {
  expect(() => assertChromium('/nonexistent/chromium')).toThrow(/apt-get install chromium/);
});
