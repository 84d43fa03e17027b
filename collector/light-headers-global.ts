// Side effect only: installs LightHeaders as the global Headers (light-headers.ts). Imported first by
// the collector bundle's entry (bundle-main.ts), so it runs before any other module of the bundle.
import { installLightHeaders } from './light-headers.ts';

installLightHeaders();
