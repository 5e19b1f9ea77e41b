<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja" sourcelanguage="en">
<context>
    <name>CaptionChoices</name>
    <message>
        <source>Caption language</source>
        <translation>キャプションの言語</translation>
    </message>
    <message>
        <source>Detailed description</source>
        <translation>詳しい説明</translation>
    </message>
    <message>
        <source>One sentence</source>
        <translation>一文で</translation>
    </message>
    <message>
        <source>Transcribe text</source>
        <translation>文字の書き起こし</translation>
    </message>
    <message>
        <source>Custom prompt</source>
        <translation>カスタムプロンプト</translation>
    </message>
    <message>
        <source>Your prompt</source>
        <translation>プロンプトを入力</translation>
    </message>
</context>
<context>
    <name>CaptionPanel</name>
    <message>
        <source>The caption of the selected image appears here.</source>
        <translation>選択した画像のキャプションがここに表示されます。</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>コピー</translation>
    </message>
    <message>
        <source>Copy the caption (Ctrl+Shift+C)</source>
        <translation>キャプションをコピー (Ctrl+Shift+C)</translation>
    </message>
    <message>
        <source>No image selected</source>
        <translation>画像が選択されていません</translation>
    </message>
    <message>
        <source>{} characters</source>
        <translation>{} 文字</translation>
    </message>
    <message>
        <source> · {} tokens</source>
        <translation> · {} トークン</translation>
    </message>
    <message>
        <source>Edited</source>
        <translation>編集済み</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>保存されていません</translation>
    </message>
    <message>
        <source>Saved to {}</source>
        <translation>{} に保存しました</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>コピーしました</translation>
    </message>
</context>
<context>
    <name>EmptyState</name>
    <message>
        <source>Drop images or folders here</source>
        <translation>ここに画像かフォルダをドロップ</translation>
    </message>
    <message>
        <source>JPEG, PNG, WebP, BMP, TIFF, GIF · captions are saved beside each image as .txt</source>
        <translation>JPEG・PNG・WebP・BMP・TIFF・GIF · キャプションは各画像の隣に .txt として保存されます</translation>
    </message>
    <message>
        <source>Open images…</source>
        <translation>画像を開く…</translation>
    </message>
    <message>
        <source>Open folder…</source>
        <translation>フォルダを開く…</translation>
    </message>
</context>
<context>
    <name>FolderPanel</name>
    <message>
        <source>Caption folder</source>
        <translation>フォルダをキャプション</translation>
    </message>
    <message>
        <source>Caption folder (overwrite existing)</source>
        <translation>フォルダをキャプション（既存を上書き）</translation>
    </message>
</context>
<context>
    <name>ImageList</name>
    <message>
        <source>Filter by name or state</source>
        <translation>名前または状態で絞り込み</translation>
    </message>
    <message>
        <source>Order added</source>
        <translation>追加順</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状態</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Open images…</source>
        <translation>画像を開く…</translation>
    </message>
    <message>
        <source>Open folder…</source>
        <translation>フォルダを開く…</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>再開</translation>
    </message>
    <message>
        <source>Not now</source>
        <translation>後で</translation>
    </message>
    <message>
        <source>Save in another folder…</source>
        <translation>別のフォルダーに保存…</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>閉じる</translation>
    </message>
    <message>
        <source>Folders</source>
        <translation>フォルダ</translation>
    </message>
    <message>
        <source>Paste image</source>
        <translation>画像を貼り付け</translation>
    </message>
    <message>
        <source>Export captions…</source>
        <translation>キャプションを書き出す…</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>モデル…</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>設定…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>終了</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>開始</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>一時停止</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>中止</translation>
    </message>
    <message>
        <source>Caption selected</source>
        <translation>選択した画像をキャプション</translation>
    </message>
    <message>
        <source>Re-caption selected</source>
        <translation>選択した画像を再キャプション</translation>
    </message>
    <message>
        <source>Copy caption</source>
        <translation>キャプションをコピー</translation>
    </message>
    <message>
        <source>Save caption</source>
        <translation>キャプションを保存</translation>
    </message>
    <message>
        <source>Remove from list</source>
        <translation>リストから削除</translation>
    </message>
    <message>
        <source>Next image</source>
        <translation>次の画像</translation>
    </message>
    <message>
        <source>Previous image</source>
        <translation>前の画像</translation>
    </message>
    <message>
        <source>Show in file manager</source>
        <translation>ファイルマネージャで表示</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>編集(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Caption</source>
        <translation>キャプション(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>表示(&amp;V)</translation>
    </message>
    <message>
        <source>Caption</source>
        <translation>キャプション</translation>
    </message>
    <message>
        <source>Looking for images…</source>
        <translation>画像を探しています…</translation>
    </message>
    <message>
        <source>Open images</source>
        <translation>画像を開く</translation>
    </message>
    <message>
        <source>Images ({})</source>
        <translation>画像 ({})</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>フォルダを開く</translation>
    </message>
    <message>
        <source>{} images were left uncaptioned when CapRL Desktop (or a command) stopped last time, in {}.</source>
        <translation>前回 CapRL Desktop（またはコマンド）が止まったとき、{} 枚の画像がキャプション未処理のまま残りました（{}）。</translation>
    </message>
    <message>
        <source>Resume captions them with the choices that run was started with (language, prompt, detail); what was captioned before is kept and not redone.</source>
        <translation>「再開」は、その実行を始めたときの設定（言語・プロンプト・詳細度）でキャプションを付けます。付け終えたキャプションはそのまま残り、やり直しません。</translation>
    </message>
    <message>
        <source>Captions cannot be saved: {}. Free some space and press Start, or save them in another folder. Captions already made are kept and will be saved.</source>
        <translation>キャプションを保存できません: {}。空き容量を作って「開始」を押すか、別のフォルダーに保存してください。作成済みのキャプションは失われず、後で保存されます。</translation>
    </message>
    <message>
        <source>Captions cannot be saved beside the images: {}. Save them in another folder? Captions already made are kept and will be saved there.</source>
        <translation>画像と同じフォルダーにキャプションを保存できません: {}。別のフォルダーに保存しますか？作成済みのキャプションは失われず、そこに保存されます。</translation>
    </message>
    <message>
        <source>Save captions in</source>
        <translation>キャプションの保存先</translation>
    </message>
    <message>
        <source>Captions are saved in {} (Settings changes this).</source>
        <translation>キャプションは {} に保存されます（設定で変更できます）。</translation>
    </message>
    <message>
        <source>CSV for Excel (*.csv)</source>
        <translation>Excel 用 CSV (*.csv)</translation>
    </message>
    <message>
        <source>JSON Lines (*.jsonl)</source>
        <translation>JSON Lines (*.jsonl)</translation>
    </message>
    <message>
        <source>Hugging Face metadata.jsonl (metadata.jsonl)</source>
        <translation>Hugging Face metadata.jsonl (metadata.jsonl)</translation>
    </message>
    <message>
        <source>Export captions</source>
        <translation>キャプションを書き出す</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>書き出しに失敗しました</translation>
    </message>
    <message>
        <source>Exported {} captions to {}</source>
        <translation>{} 件のキャプションを {} に書き出しました</translation>
    </message>
</context>
<context>
    <name>ModelDialog</name>
    <message>
        <source>Models — CapRL Desktop</source>
        <translation>モデル — CapRL Desktop</translation>
    </message>
    <message>
        <source>CapRL Desktop captions with CapRL-3B, run on this computer. Pick a quant: smaller ones need less memory, larger ones are a little more accurate. The vision projector comes with the first download.</source>
        <translation>CapRL Desktop は CapRL-3B をこのコンピュータ上で動かしてキャプションを付けます。量子化を選んでください。小さいものほど必要なメモリが少なく、大きいものほど少し正確です。ビジョンプロジェクタは最初のダウンロードに含まれます。</translation>
    </message>
    <message>
        <source>On this computer</source>
        <translation>このコンピュータ</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>サイズ</translation>
    </message>
    <message>
        <source>From</source>
        <translation>入手元</translation>
    </message>
    <message>
        <source>Use this model</source>
        <translation>このモデルを使う</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>削除…</translation>
    </message>
    <message>
        <source>Use a GGUF already on disk…</source>
        <translation>ディスク上の GGUF を使う…</translation>
    </message>
    <message>
        <source>Open models folder</source>
        <translation>モデルフォルダを開く</translation>
    </message>
    <message>
        <source>Download from Hugging Face</source>
        <translation>Hugging Face からダウンロード</translation>
    </message>
    <message>
        <source>Looking at this computer and the Hugging Face hub…</source>
        <translation>このコンピュータと Hugging Face Hub を確認しています…</translation>
    </message>
    <message>
        <source>Quant</source>
        <translation>量子化</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>種類</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>ダウンロード</translation>
    </message>
    <message>
        <source>Memory needed</source>
        <translation>必要なメモリ</translation>
    </message>
    <message>
        <source>Also show imatrix (i1) quants: often better at 3 bits and below</source>
        <translation>imatrix (i1) 量子化も表示（3 ビット以下で有利なことが多い）</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>ダウンロードを中止</translation>
    </message>
    <message>
        <source>Look again</source>
        <translation>再確認</translation>
    </message>
    <message>
        <source>{} (in use)</source>
        <translation>{}（使用中）</translation>
    </message>
    <message>
        <source>Hugging Face</source>
        <translation>Hugging Face</translation>
    </message>
    <message>
        <source>No model yet: download one below, or use a GGUF on disk.</source>
        <translation>モデルはまだありません。下からダウンロードするか、ディスク上の GGUF を使ってください。</translation>
    </message>
    <message>
        <source>Cannot use this model</source>
        <translation>このモデルは使えません</translation>
    </message>
    <message>
        <source>Delete {} from this computer? It can be downloaded again later.</source>
        <translation>{} をこのコンピュータから削除しますか？後で再びダウンロードできます。</translation>
    </message>
    <message>
        <source>Forget {}? The file stays where it is.</source>
        <translation>{} の登録を解除しますか？ファイルはそのまま残ります。</translation>
    </message>
    <message>
        <source>Remove model</source>
        <translation>モデルを削除</translation>
    </message>
    <message>
        <source>Cannot remove this model</source>
        <translation>このモデルを削除できません</translation>
    </message>
    <message>
        <source>The CapRL text model (GGUF)</source>
        <translation>CapRL のテキストモデル (GGUF)</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF モデル (*.gguf)</translation>
    </message>
    <message>
        <source>Its vision projector (mmproj GGUF)</source>
        <translation>対応するビジョンプロジェクタ (mmproj GGUF)</translation>
    </message>
    <message>
        <source>Checking {} and {}…</source>
        <translation>{} と {} を確認しています…</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>不明</translation>
    </message>
    <message>
        <source>RAM</source>
        <translation>RAM</translation>
    </message>
    <message>
        <source>Judged against {}: {} available.</source>
        <translation>{} を基準に判定: 空き {}。</translation>
    </message>
    <message>
        <source>No GPU is used by this build, so the model runs on the CPU.</source>
        <translation>このビルドは GPU を使わないため、モデルは CPU で動きます。</translation>
    </message>
    <message>
        <source>Recommended here: {}.</source>
        <translation>このコンピュータでのおすすめ: {}。</translation>
    </message>
    <message>
        <source>fits</source>
        <translation>余裕あり</translation>
    </message>
    <message>
        <source>tight</source>
        <translation>ぎりぎり</translation>
    </message>
    <message>
        <source>too big</source>
        <translation>大きすぎ</translation>
    </message>
    <message>
        <source>recommended</source>
        <translation>おすすめ</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>インストール済み</translation>
    </message>
    <message>
        <source>imatrix</source>
        <translation>imatrix</translation>
    </message>
    <message>
        <source>static</source>
        <translation>標準</translation>
    </message>
    <message>
        <source>{} is already installed.</source>
        <translation>{} はインストール済みです。</translation>
    </message>
    <message>
        <source>Downloading {}</source>
        <translation>{} をダウンロードしています</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>中止しています…</translation>
    </message>
    <message>
        <source>Checking {}: {} of {}</source>
        <translation>{} を検証中: {} / {}</translation>
    </message>
    <message>
        <source>{}: {} of {}</source>
        <translation>{}: {} / {}</translation>
    </message>
    <message>
        <source>File {} of {}</source>
        <translation>ファイル {} / {}</translation>
    </message>
    <message>
        <source>{}/s</source>
        <translation>{}/秒</translation>
    </message>
    <message>
        <source>{} left</source>
        <translation>残り {}</translation>
    </message>
    <message>
        <source>{} is installed and in use.</source>
        <translation>{} をインストールし、使用を開始しました。</translation>
    </message>
    <message>
        <source>Download cancelled. What was downloaded is kept: the next download continues from there.</source>
        <translation>ダウンロードを中止しました。ダウンロード済みの部分は保持され、次回はその続きから再開します。</translation>
    </message>
</context>
<context>
    <name>Preview</name>
    <message>
        <source>Loading…</source>
        <translation>読み込み中…</translation>
    </message>
    <message>
        <source>This image cannot be shown.</source>
        <translation>この画像は表示できません。</translation>
    </message>
</context>
<context>
    <name>QueueController</name>
    <message>
        <source>Not found: {}</source>
        <translation>見つかりません: {}</translation>
    </message>
    <message>
        <source>No images found there.</source>
        <translation>画像が見つかりませんでした。</translation>
    </message>
    <message>
        <source>The engine crashed and was restarted: {}</source>
        <translation>エンジンが異常終了したため再起動しました: {}</translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <source>Failed: {}</source>
        <translation>失敗: {}</translation>
    </message>
    <message>
        <source>Captioning… {} tokens</source>
        <translation>キャプション生成中… {} トークン</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完了</translation>
    </message>
    <message>
        <source>Up next</source>
        <translation>次に処理</translation>
    </message>
    <message>
        <source>Not captioned</source>
        <translation>未処理</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>待機中</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings — CapRL Desktop</source>
        <translation>設定 — CapRL Desktop</translation>
    </message>
    <message>
        <source>Fast</source>
        <translation>高速</translation>
    </message>
    <message>
        <source>Balanced</source>
        <translation>標準</translation>
    </message>
    <message>
        <source>Maximum</source>
        <translation>最大</translation>
    </message>
    <message>
        <source>{} (up to {} image tokens)</source>
        <translation>{}（画像トークン最大 {}）</translation>
    </message>
    <message>
        <source>How finely the image is looked at. Maximum reads small print in documents and charts best; Fast is several times quicker on a CPU.</source>
        <translation>画像をどれだけ細かく見るか。「最大」は書類やグラフの小さな文字を最もよく読み取り、「高速」は CPU で数倍速くなります。</translation>
    </message>
    <message>
        <source>Image detail</source>
        <translation>画像の精細さ</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> トークン</translation>
    </message>
    <message>
        <source>Longest caption</source>
        <translation>キャプションの最大長</translation>
    </message>
    <message>
        <source>1.0 is what CapRL-3B was trained with; 0 always picks the most likely word.</source>
        <translation>1.0 は CapRL-3B の学習時の値です。0 では常に最も確からしい語を選びます。</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <source>Random</source>
        <translation>ランダム</translation>
    </message>
    <message>
        <source>A fixed seed gives the same caption for the same image and settings.</source>
        <translation>シードを固定すると、同じ画像と設定から同じキャプションが得られます。</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>シード</translation>
    </message>
    <message>
        <source>All (when a GPU is used)</source>
        <translation>すべて（GPU 使用時）</translation>
    </message>
    <message>
        <source>Layers of the model put on the GPU; 0 runs on the CPU. Fewer layers need less GPU memory.</source>
        <translation>GPU に載せるモデルの層数。0 なら CPU で動きます。層が少ないほど GPU メモリの使用量が減ります。</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>GPU レイヤー数</translation>
    </message>
    <message>
        <source>Automatic ({})</source>
        <translation>自動 ({})</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU スレッド数</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自動</translation>
    </message>
    <message>
        <source>Captions made side by side in a folder. They share each pass over the model, so more at a time finish more images per minute, each a little slower. Automatic fits the number to the GPU or CPU and free memory.</source>
        <translation>フォルダーの画像を同時に何枚キャプション生成するか。モデルの計算を共有するので、同時に多いほど 1 分あたりの枚数は増え、1 枚ごとは少し遅くなります。自動では GPU または CPU と空きメモリに合わせて決めます。</translation>
    </message>
    <message>
        <source>Captions at a time</source>
        <translation>同時に生成する数</translation>
    </message>
    <message>
        <source>Skip images that already have a caption</source>
        <translation>キャプションのある画像は飛ばす</translation>
    </message>
    <message>
        <source>Caption them again and replace the caption</source>
        <translation>もう一度キャプションを付けて置き換える</translation>
    </message>
    <message>
        <source>Existing captions</source>
        <translation>既存のキャプション</translation>
    </message>
    <message>
        <source>Beside the images</source>
        <translation>画像と同じフォルダー</translation>
    </message>
    <message>
        <source>Leave empty to save each caption as a .txt file beside its image. A folder here keeps the captions apart (for read-only disks): one subfolder for each folder captioned.</source>
        <translation>空欄なら、各キャプションを画像と同じフォルダーに .txt ファイルとして保存します。フォルダーを指定すると、キャプションを別に保存します（読み取り専用のディスク向け）。キャプションを付けたフォルダーごとにサブフォルダーを作ります。</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>選択…</translation>
    </message>
    <message>
        <source>Save captions</source>
        <translation>キャプションの保存</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>しない</translation>
    </message>
    <message>
        <source>Free the model&apos;s memory when nothing has been captioned for this long; it loads again for the next image.</source>
        <translation>この時間キャプションを付けなかったらモデルのメモリを解放します。次の画像で再び読み込みます。</translation>
    </message>
    <message>
        <source>Unload the model after</source>
        <translation>モデルを解放するまでの時間</translation>
    </message>
    <message>
        <source>Show “Caption with CapRL” when right-clicking folders and images</source>
        <translation>フォルダーや画像の右クリックメニューに「CapRLでキャプション」を表示する</translation>
    </message>
    <message>
        <source>In Explorer, Finder, Nautilus, Dolphin and Nemo, for you only; the same as `caprl-desktop integrate install`.</source>
        <translation>エクスプローラー、Finder、Nautilus、Dolphin、Nemo に、このユーザーだけ追加します（`caprl-desktop integrate install` と同じ）。</translation>
    </message>
    <message>
        <source>File manager</source>
        <translation>ファイルマネージャー</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>システムの言語</translation>
    </message>
    <message>
        <source>Interface language</source>
        <translation>表示言語</translation>
    </message>
    <message>
        <source>The interface language changes the next time CapRL Desktop starts. The caption language is chosen in the main window.</source>
        <translation>表示言語は CapRL Desktop の次回起動時に切り替わります。キャプションの言語はメインウィンドウで選びます。</translation>
    </message>
    <message>
        <source>Save captions in</source>
        <translation>キャプションの保存先</translation>
    </message>
</context>
<context>
    <name>StatusLine</name>
    <message>
        <source>Download a model…</source>
        <translation>モデルをダウンロード…</translation>
    </message>
    <message>
        <source>No model installed</source>
        <translation>モデルがインストールされていません</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>モデルを読み込んでいます…</translation>
    </message>
    <message>
        <source>Model unloaded while idle; it loads again for the next image</source>
        <translation>使われていないためモデルを解放しました。次の画像で再び読み込みます</translation>
    </message>
    <message>
        <source>The model could not be loaded</source>
        <translation>モデルを読み込めませんでした</translation>
    </message>
    <message>
        <source>{} captions at a time</source>
        <translation>同時に {} 枚</translation>
    </message>
    <message>
        <source>CPU only: this build has no GPU support (hover for how to add it)</source>
        <translation>CPU のみ：このビルドは GPU に対応していません（ポインタを合わせると追加方法を表示）</translation>
    </message>
    <message>
        <source>{:.1f} tokens/s</source>
        <translation>{:.1f} トークン/秒</translation>
    </message>
    <message>
        <source>{} / {} images</source>
        <translation>{} / {} 枚</translation>
    </message>
    <message>
        <source> · about {} left</source>
        <translation> · 残り約 {}</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>Something went wrong: {}</source>
        <translation>問題が発生しました: {}</translation>
    </message>
    <message>
        <source>The details are in {}</source>
        <translation>詳細は {} にあります</translation>
    </message>
</context>
<context>
    <name>clipboard</name>
    <message>
        <source>The clipboard holds no image.</source>
        <translation>クリップボードに画像がありません。</translation>
    </message>
    <message>
        <source>The pasted image could not be saved in {}</source>
        <translation>貼り付けた画像を {} に保存できませんでした</translation>
    </message>
</context>
<context>
    <name>duration</name>
    <message>
        <source>{} s</source>
        <translation>{} 秒</translation>
    </message>
    <message>
        <source>{} min {:02d} s</source>
        <translation>{} 分 {:02d} 秒</translation>
    </message>
    <message>
        <source>{} h {:02d} min</source>
        <translation>{} 時間 {:02d} 分</translation>
    </message>
</context>
</TS>
