export { Field } from "./Field";
export { ErrorNotice, Notice, OkNotice } from "./Notice";
export { PhotoViewer, type PhotoMeta } from "./PhotoViewer";
export { ProgressBar, type Progress } from "./ProgressBar";
export { ScorePanel, verdictOf, type Score, type Verdict } from "./ScorePanel";
export { UnitPicker, type UnitChoice } from "./UnitPicker";
