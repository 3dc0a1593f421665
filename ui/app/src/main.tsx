// The app's UI: one screen at a time under a header, each screen in its own
// file under screens/. The font is bundled (no network at run time).
import "@cdht/shared/fonts.css";
import "@cdht/shared/styles.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ErrorNotice } from "@cdht/shared/components";
import { t } from "@cdht/shared/i18n";
import { Header } from "./Header";
import { listenToSync } from "./live";
import { applyTextSize, overview, refreshOverview, route, textSize, type Screen } from "./state";
import { AssessScreen } from "./screens/Assess";
import { HistoryScreen } from "./screens/History";
import { HomeScreen } from "./screens/Home";
import { JoinScreen } from "./screens/Join";
import { OfficerScreen } from "./screens/Officer";
import { ProfileScreen } from "./screens/Profile";
import { SyncScreen } from "./screens/Sync";

const SCREEN_VIEWS: Record<Screen, () => preact.JSX.Element> = {
  home: HomeScreen,
  join: JoinScreen,
  profile: ProfileScreen,
  assess: AssessScreen,
  history: HistoryScreen,
  officer: OfficerScreen,
  sync: SyncScreen,
};

function App() {
  const { screen, key } = route.value;
  // Every screen reads the overview: it is loaded once before the first one.
  const [error, setError] = useState<unknown>(null);
  const ready = overview.value !== null;
  useEffect(() => {
    if (!ready) refreshOverview().catch(setError);
  }, [key]);
  const View = SCREEN_VIEWS[screen];
  return (
    <>
      <Header />
      <main id={`screen-${screen}`}>
        {error ? <ErrorNotice error={error} /> : ready ? <View key={key} /> : <p>{t("common.loading")}</p>}
      </main>
    </>
  );
}

applyTextSize(textSize.peek());
listenToSync();
render(<App />, document.getElementById("app")!);
